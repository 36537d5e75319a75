"""The hand world: poses within the anatomy's limits, a procedural renderer with ground truth,
captions and cached training sets. Knows only the shared vocabulary (`core`)."""
