"""Training, calibrating and validating the judge's witnesses (never imported when serving)."""
