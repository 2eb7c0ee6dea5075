"""The interview question bank: ``data/questions.json``, its validation and question
selection (:mod:`voice_interview.interview.questions.bank`)."""
