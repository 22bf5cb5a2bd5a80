#!/usr/bin/env bash
# The CUDA device check, in one go on a GPU machine (fits in 8 minutes): loads the carried CUDA
# build (or builds it there with nvcc when none was carried), runs the CUDA-vs-float64 parity
# checks and the device-resident training parity (scripts/device/train_parity.js: resident and
# streamed data sets, the divergence guard; run twice, the second time with every device fit
# streamed under NODETRAIN_CUDA_DATA_BUDGET), times GEMM / fused Adam / the MLP step against PyTorch in the same run, and writes one
# JSON and one markdown table to $OUT (or ./device-out).
# Here, before the call (this machine has nvcc and the node binary; the GPU machine may have no
# Node.js):   bash scripts/device/check.sh --prepare
#   builds build-cuda/ (sm_80 + sm_90 + PTX) and packs node, the addon and the scripts into .device/
#   (ignored by git; name it in the run's carry list).
# There:      bash scripts/device/check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = "--prepare" ]; then
  set -e
  npm run build:cuda >/dev/null
  mkdir -p .device
  cp build-cuda/Release/nodetrain.node .device/nodetrain.node
  xz -T2 -3 -c "$(command -v node)" > .device/node.xz
  ls -la .device
  exit 0
fi
OUT="${OUT:-$PWD/device-out}"
mkdir -p "$OUT"
log() { echo "== $*"; }
# One deadline for the whole check (CHECK_SECONDS, default 450 s, inside the 8 minutes with room
# for unpacking): each step gets at most its own cap and never eats into the minimum kept for the
# steps after it, so time a fast step leaves goes to the later ones.
DEADLINE=$((SECONDS + ${CHECK_SECONDS:-450}))
step_timeout() {  # step_timeout CAP RESERVE
  local left=$((DEADLINE - SECONDS - $2))
  [ "$left" -lt 10 ] && left=10
  [ "$1" -lt "$left" ] && left=$1
  echo "$left"
}
NODE="$(command -v node || true)"
if [ -f .device/node.xz ]; then
  # xz, or Python's lzma where the machine has no xz binary.
  if { command -v xz >/dev/null && xz -dc .device/node.xz > /tmp/nt-node; } ||
     python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' .device/node.xz /tmp/nt-node; then
    chmod +x /tmp/nt-node && NODE=/tmp/nt-node
  fi
fi
[ -n "$NODE" ] || { echo "no node binary: run scripts/device/check.sh --prepare where Node.js is installed"; exit 2; }
ADDON=.device/nodetrain.node
if [ ! -f "$ADDON" ]; then
  log "no carried addon: building with nvcc here"
  (npm run build:cuda >"$OUT/build.log" 2>&1) || { tail -30 "$OUT/build.log"; exit 2; }
  ADDON=build-cuda/Release/nodetrain.node
fi
export NODETRAIN_ADDON="$PWD/$ADDON"
# cuBLAS from the PyTorch wheels, when present, for the dlopen path.
CUBLAS="$(python3 -c 'import nvidia, os, glob; d=os.path.dirname(nvidia.__path__[0]); print((glob.glob(d+"/nvidia/**/libcublas.so*", recursive=True) or [""])[0])' 2>/dev/null || true)"
[ -n "$CUBLAS" ] && export NODETRAIN_CUBLAS="$CUBLAS" LD_LIBRARY_PATH="$(dirname "$CUBLAS"):${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
log "cudaInfo"
"$NODE" -e "console.log(JSON.stringify(require(process.env.NODETRAIN_ADDON).cudaInfo()))" | tee "$OUT/info.json"
log "parity (CUDA vs float64 references)"
timeout "$(step_timeout 150 270)" "$NODE" scripts/device/parity.js "$OUT/parity.json" > "$OUT/parity.log" 2>&1
PARITY=$?
grep -E "FAIL|passed" "$OUT/parity.log" | tail -25
log "device-resident training parity (CUDA plan vs CPU plan, same initial weights)"
timeout "$(step_timeout 60 230)" "$NODE" scripts/device/train_parity.js "$OUT/train-parity.json" > "$OUT/train-parity.log" 2>&1
TRAIN_PARITY=$?
grep -E "FAIL|passed|samples/s|guard" "$OUT/train-parity.log" | tail -25
[ $TRAIN_PARITY -ne 0 ] && tail -5 "$OUT/train-parity.log"
[ $PARITY -eq 0 ] && PARITY=$TRAIN_PARITY
# The first run's GEMMs are cuBLAS's when it was found (the table's slots take it then); this one
# keeps cuBLAS closed, so the fit loop also runs on the project's own GEMM kernels.
log "the same with every device fit streamed (NODETRAIN_CUDA_DATA_BUDGET=4096: one-batch chunks, pinned double buffer) and the project's own GEMMs (NODETRAIN_CUBLAS=off)"
NODETRAIN_CUBLAS=off NODETRAIN_CUDA_DATA_BUDGET=4096 PARITY_NO_TIMING=1 timeout "$(step_timeout 60 200)" "$NODE" scripts/device/train_parity.js "$OUT/train-parity-streamed.json" > "$OUT/train-parity-streamed.log" 2>&1
STREAM_PARITY=$?
grep -E "FAIL|passed|guard" "$OUT/train-parity-streamed.log" | tail -12
[ $STREAM_PARITY -ne 0 ] && tail -5 "$OUT/train-parity-streamed.log"
[ $PARITY -eq 0 ] && PARITY=$STREAM_PARITY
log "PyTorch references"
timeout "$(step_timeout 200 80)" python3 scripts/device/torch_bench.py "$OUT/torch.json" > "$OUT/torch.log" 2>&1 || tail -5 "$OUT/torch.log"
log "nodetrain CUDA timings"
timeout "$(step_timeout 120 0)" "$NODE" scripts/device/bench.js "$OUT/torch.json" "$OUT/cuda-check.json" "$OUT/cuda-check.md" 2>&1 | tee "$OUT/bench.log"
echo "check took ${SECONDS} s; parity exit code: $PARITY"
exit $PARITY
