"""Interview logic: question bank, CV analysis, evaluation and the turn loop."""
