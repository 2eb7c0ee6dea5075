"""Prometheus metrics, one registry per app (tests run several apps in one process)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_STAGES = ("end_of_turn", "end_check", "stt_final", "tts_first_audio", "voice_to_voice")
_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.stage = Histogram(
            "vi_turn_stage_seconds",
            "Per-turn latency by stage",
            ["stage"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.inference = Histogram(
            "vi_engine_inference_seconds",
            "Time one engine call ran on its worker",
            ["engine"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "vi_engine_queue_wait_seconds",
            "Time one engine call waited in its queue",
            ["engine"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "vi_engine_queue_depth",
            "Work items waiting per engine",
            ["engine"],
            registry=self.registry,
        )
        self.active_sessions = Gauge(
            "vi_active_sessions", "Open candidate WebSocket sessions", registry=self.registry
        )
        self.evaluation = Histogram(
            "vi_evaluation_seconds",
            "Answer evaluation latency",
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.ws_errors = Counter(
            "vi_ws_errors_total", "Error messages sent to clients", ["code"], registry=self.registry
        )
        self.turns = Counter("vi_turns_total", "Turns ended", ["reason"], registry=self.registry)

    def observe_turn(self, latency_ms: dict[str, Any]) -> None:
        for stage in _STAGES:
            value = latency_ms.get(stage)
            if isinstance(value, int | float):
                self.stage.labels(stage).observe(value / 1000.0)
        self.turns.labels(str(latency_ms.get("end_reason", ""))).inc()

    def observe_engine(self, engine: str, waited_s: float, ran_s: float) -> None:
        self.queue_wait.labels(engine).observe(waited_s)
        self.inference.labels(engine).observe(ran_s)

    def render(self) -> bytes:
        return generate_latest(self.registry)
