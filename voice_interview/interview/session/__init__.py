"""The turn loop of one candidate's WebSocket session: ``InterviewSession`` and the
``Turn`` it drives, the end-of-turn policy, continuation and barge-in, and what it sends."""
