"""CV analysis: the skill vocabulary (``data/skills.json``) and keyword matching
(:mod:`.skills`), roles (:mod:`.roles`), years of experience (:mod:`.experience`), the
checked LLM and extractive summaries (:mod:`.summary`) and :func:`.analysis.analyse_cv`."""
