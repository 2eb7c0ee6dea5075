"""Benchmarks. ``voice-interview bench`` streams spoken fixtures to a server in real time
and measures every stage; ``eval-bench`` ranks a labelled answer set with the evaluator.

The load bench speaks the wire contract through ``protocol.py``; besides it uses
``audio.codecs`` to encode its fixtures as a client would, and ``engines.stt`` for the
offline pass it compares final transcripts with. The eval-bench drives the evaluator
directly (``interview``), with no server.
"""
