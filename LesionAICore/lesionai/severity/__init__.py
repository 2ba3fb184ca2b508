"""SeverityScoring pipeline: chest radiograph -> lungs, canonical alignment, Brixia zones."""
