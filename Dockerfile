# voice_interview on the bundled models, CPU. llama.cpp is built portably
# (GGML_NATIVE=OFF): an image built with -march=native dies with SIGILL elsewhere.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake make git \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml Makefile README.md ./
COPY voice_interview ./voice_interview
COPY models ./models
RUN make install PYTHON=python3.11 \
 && rm -rf /root/.cache/pip/http*

ENV VI_HOST=0.0.0.0 VI_PORT=8765 VI_DATABASE_URL=sqlite+aiosqlite:////data/voice_interview.db
VOLUME ["/data"]
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD \
  python3 -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8765/health').status != 200)"
CMD [".venv/bin/voice-interview", "serve"]
