"""Prompt understanding: free text to a `HandSpec`, rules first, then a sentence encoder."""
