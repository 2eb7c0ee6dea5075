"""The recruiter's report: its data (``data``), its HTML page (``page`` over
``templates/report.html``) and the stored answer audio it links (``audio``)."""

from voice_interview.interview.report.audio import AUDIO_MIME, AudioUnavailableError, answer_audio
from voice_interview.interview.report.data import Report, build_report, interview_summary
from voice_interview.interview.report.page import render_html

__all__ = [
    "AUDIO_MIME",
    "AudioUnavailableError",
    "Report",
    "answer_audio",
    "build_report",
    "interview_summary",
    "render_html",
]
