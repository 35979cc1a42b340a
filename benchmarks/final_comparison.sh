#!/usr/bin/env bash
# The final comparison of docs/results.md (issue 10, item 6; issue 14, item 2).
#
#   bash benchmarks/final_comparison.sh [MNIST_DIR]    # default: $SKDFAL_MNIST_DIR, else ../shared/data/mnist
#
# Resumable: every step appends rows to its CSV as they come, and rerunning the
# script continues where it stopped (finished runs are kept, partial ones replayed).
# Order: what the issue needs most comes first.  Each step prints its wall time.
set -euo pipefail
MNIST_DIR=${1:-${SKDFAL_MNIST_DIR:-../shared/data/mnist}}
OUT=${OUT:-docs/results/final}
mkdir -p "$OUT"
ALL=random,entropy,bald,coreset,badge,skal_entropy,skal_badge,skal_typiclust,dfal,dfal_adv,dfal_batch
COMMON=(--n-initial 20 --n-instances 20 --budgets 60,100,200,300,500,1000
        --targets 0.9,0.95,0.97 --jobs 2 --no-progress)

# 1-2. Five seeds to 500 labels, 1,000 random candidates per round, MNIST then digits.
skdfal benchmark --dataset mnist --data-dir "$MNIST_DIR" --strategies "$ALL" --seeds 0,1,2,3,4 \
  --budget 500 --subsample 1000 "${COMMON[@]}" --output "$OUT/mnist.csv"
skdfal benchmark --dataset digits --strategies "$ALL" --seeds 0,1,2,3,4 \
  --budget 500 --subsample 1000 "${COMMON[@]}" --output "$OUT/digits.csv"
# 3. Whole pool every round (first-order screening, exact DeepFool on a shortlist),
#    to compare with dfal on 1,000 candidates of step 1 (same seeds).
skdfal benchmark --dataset mnist --data-dir "$MNIST_DIR" --strategies dfal_screen --seeds 0,1,2,3,4 \
  --budget 500 --subsample all "${COMMON[@]}" --output "$OUT/mnist_whole_pool.csv"
# 4. Warm start: each round continues from last round's weights for 200 steps (the
#    one-cycle schedule restarts), against retraining from scratch in step 1 (seeds 0-2).
skdfal benchmark --dataset mnist --data-dir "$MNIST_DIR" --strategies random,dfal_batch --seeds 0,1,2 \
  --budget 500 --subsample 1000 --retrain warm --steps 200 "${COMMON[@]}" --output "$OUT/mnist_warm.csv"
# 5-6. Seeds 0-2 extended to 1,000 labels (a larger budget continues the runs above).
skdfal benchmark --dataset mnist --data-dir "$MNIST_DIR" --strategies "$ALL" --seeds 0,1,2 \
  --budget 1000 --subsample 1000 "${COMMON[@]}" --output "$OUT/mnist.csv"
skdfal benchmark --dataset digits --strategies "$ALL" --seeds 0,1,2 \
  --budget 1000 --subsample 1000 "${COMMON[@]}" --output "$OUT/digits.csv"
