"""Speed measurement: FLOP counts, the machine's matmul throughput, and per-model training/eval throughput."""
