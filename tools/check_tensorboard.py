"""Reads the event files written by tandem's Keras `TensorBoard` callback back with the
`tensorboard` package's own event reader and prints every scalar series.

Run by hand (TensorBoard is not a test dependency), e.g. after the `keras_callbacks` example:

    cargo run --release --example keras_callbacks -- /tmp/kc 3
    /path/to/venv/bin/python tools/check_tensorboard.py /tmp/kc/tensorboard

Exits non-zero when a run directory has no scalars or a step is missing.
"""
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def main(log_dir):
    failures = 0
    for run in ("train", "validation"):
        acc = EventAccumulator(f"{log_dir}/{run}")
        acc.Reload()
        tags = acc.Tags()["scalars"]
        if not tags:
            print(f"{run}: no scalars")
            failures += 1
        for tag in tags:
            events = acc.Scalars(tag)
            steps = [e.step for e in events]
            if steps != list(range(len(steps))):
                print(f"{run}/{tag}: steps {steps} are not 0..n")
                failures += 1
            print(f"{run}/{tag}: " + ", ".join(f"{e.step}:{e.value:.6g}" for e in events))
    return failures


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1]) else 0)
