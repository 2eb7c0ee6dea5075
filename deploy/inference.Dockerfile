# The inference server of docker-compose.yml: llama-cpp-python's OpenAI-compatible
# server (docs/REMOTE_INFERENCE.md) on the project's llama-cpp-python build and the
# bundled GGUF. The steps up to `make install` are the main Dockerfile's, so the build
# cache shares them. For a GPU: build llama.cpp with CUDA
# (LLAMA_CMAKE_ARGS="-DGGML_CUDA=on -DGGML_NATIVE=OFF" on a CUDA base image) and add
# --n_gpu_layers -1 to the command.
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
# llama_cpp.server's own dependencies (llama-cpp-python[server]).
RUN .venv/bin/pip install -q "uvicorn>=0.22" "fastapi>=0.100" "sse-starlette>=1.6.1" \
      "starlette-context>=0.3.6,<0.4" "pydantic-settings>=2.0.1" \
 && rm -rf /root/.cache/pip/http*

EXPOSE 8000
# The GGUF is the one the package ships (voice-interview models --json gives its path).
CMD ["sh", "-c", "exec .venv/bin/python -m llama_cpp.server --host 0.0.0.0 --port 8000 --n_ctx 2048 --seed 0 --model \"$(.venv/bin/voice-interview models --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[\"llm\"][\"path\"])')\""]
