#!/usr/bin/env python3
"""Interleaved side-by-side timing of commands, for A/B comparisons on a noisy machine.

Usage: scripts/bench-ab.py ROUNDS 'CMD A' 'CMD B' ...

Each round runs every command once, in a fresh random order, so a load change on a shared
machine hits all of them alike (hyperfine runs one command after the other). A command may
start with VAR=value words for its environment. stdin and stdout are /dev/null, stderr is
kept. Prints per command the median, first quartile and mean wall time, and the median and
mean CPU time (user + system of the command and every child it waited for), in ms.
Five warm-up rounds are not counted. BENCH_AB_GAP_MS=N sleeps N ms before each command, so
that state the previous command left warm in the kernel (the cgroup attach lock stays warm
for one or two RCU grace periods after a cgroup.procs write) has gone cold. Example, old probe binary copied aside vs the new one:

    sudo nice -n -19 scripts/bench-ab.py 100 \\
        "/tmp/probe-old bundle $B $RUN id" "target/release/minipod-runtime-probe bundle $B $RUN id"
"""
import os
import random
import shlex
import statistics
import sys
import time

WARMUP = 5


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    rounds = int(sys.argv[1])
    cmds = []
    for text in sys.argv[2:]:
        words = shlex.split(text)
        env = dict(os.environ)
        while words and "=" in words[0] and not words[0].startswith("/"):
            key, value = words.pop(0).split("=", 1)
            env[key] = value
        if not words:
            print(f"error: no command in {text!r}", file=sys.stderr)
            return 2
        cmds.append((text, words, env))
    devnull = os.open("/dev/null", os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)]
    wall = [[] for _ in cmds]
    cpu = [[] for _ in cmds]
    failures = 0
    gap = float(os.environ.get("BENCH_AB_GAP_MS", "0")) / 1000
    for r in range(rounds + WARMUP):
        order = list(range(len(cmds)))
        random.shuffle(order)
        for k in order:
            _, words, env = cmds[k]
            if gap:
                time.sleep(gap)
            t = time.perf_counter()
            pid = os.posix_spawnp(words[0], words, env, file_actions=actions)
            _, status, ru = os.wait4(pid, 0)
            dt = (time.perf_counter() - t) * 1000
            if status != 0:
                failures += 1
                print(f"failed ({status:#x}): {cmds[k][0]}", file=sys.stderr)
            if r >= WARMUP:
                wall[k].append(dt)
                cpu[k].append((ru.ru_utime + ru.ru_stime) * 1000)
    width = min(70, max(len(c[0]) for c in cmds))
    print(f"{'command':<{width}}  {'median':>7} {'p25':>7} {'mean':>7}   {'cpu med':>7} {'cpu mean':>8}")
    for k, (text, _, _) in enumerate(cmds):
        w = sorted(wall[k])
        print(
            f"{text[:width]:<{width}}  {statistics.median(w):7.2f} {w[len(w) // 4]:7.2f} "
            f"{statistics.mean(w):7.2f}   {statistics.median(cpu[k]):7.2f} {statistics.mean(cpu[k]):8.2f}"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
