"""Answer evaluation: gating, rubric coverage, caps, the score and its feedback, the jobs.

``gating`` decides whether an answer can be assessed at all; ``non_answer`` finds the
clear non-answers; ``rubric`` measures key-point coverage; ``caps`` holds off-topic and
contradicting answers down; ``evaluator`` puts the score and the LLM's feedback together;
``jobs`` runs evaluations and final transcripts (``transcription``) off the turn path;
``rescore`` re-runs it all on stored answers; ``speech_metrics`` times quotes and speech.
"""
