"""The shared vocabulary every room may import: the hand's words (`vocab`), its anatomy tables
(`anatomy`), settings from the environment (`settings`), request limits and defaults (`limits`)
and the one load-once mechanism (`loading`). It imports nothing of the project."""
