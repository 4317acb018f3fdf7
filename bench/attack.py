"""Attack: honest learners draw while N tabs flood the Draw page (issue 24, item 1).

`python -m bench.load --attack 0 1 8` runs this. Each attacker is a scripted tab (bench/load.py's
protocol) that sends a valid maximal drawing (64 strokes x 128 points, pen up, each one moved a
little so that no cache answers it) every 50 ms for --seconds, and reads nothing it is sent
(its socket is drained, so the server is never held up by a full buffer). Meanwhile --sessions
honest learners draw as a class does (bench/load.py's `class` mode, every answer checked).
Reported per number of attackers: the honest Draw answers' p50/p95/max, their errors, the
server's threads and RSS before, at the end of the attack and --settle seconds after the
attackers left, and how long a tab opening the Draw page just after the attack waits.
Targets (issue 24): with 1 and with 8 attackers, honest p95 <= 500 ms and RSS back within 100 MB
of the baseline a minute after.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.load_browser import pct, rss_mb

FLOOD_EVERY_S = 0.05


def maximal_drawing(k: int) -> list[list[tuple[float, float]]]:
    """The largest drawing the pad accepts (canvas.MAX_STROKES x 128 = MAX_TOTAL_POINTS), shifted by k/10 px."""
    dx = (k % 50) / 10
    return [[(60.5 + dx + (j % 16) * 10.0, 40.5 + i * 3.0 + (j // 16)) for j in range(128)] for i in range(64)]


def threads(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


async def flood(s, end: float) -> None:
    """Send a new maximal drawing every 50 ms until `end`, never waiting for an answer."""
    async def drain():
        while True:
            await s.ws.recv()

    reader = asyncio.create_task(drain())
    try:
        k = 0
        while time.perf_counter() < end:
            k += 1
            await s.send(maximal_drawing(k), down=False)
            await asyncio.sleep(FLOOD_EVERY_S)
    finally:
        reader.cancel()


async def measure(url: str, attackers: int, args, models, pid: int) -> dict:
    from bench.load import Session, classroom, guarded
    honest = [Session(i, url, models) for i in range(args.sessions[0])]
    bad = [Session(1000 + j, url, models) for j in range(attackers)]
    for s in honest + bad:
        await guarded(s, s.open(), "opening the Draw page")
    rss0, threads0 = rss_mb(pid), threads(pid)
    end = time.perf_counter() + args.seconds
    await asyncio.gather(classroom(honest, args.seconds), *(guarded(s, flood(s, end), "flooding") for s in bad))
    rss1, threads1 = rss_mb(pid), threads(pid)
    for s in bad:
        await s.close()
    late = Session(2000, url, models)  # a learner who opens the Draw page just after the attack
    t0 = time.perf_counter()
    await guarded(late, late.open(), "opening the Draw page after the attack")
    open_ms = 1000 * (time.perf_counter() - t0)
    await late.close()
    for s in honest:
        await s.close()
    await asyncio.sleep(args.settle)
    lat = sorted(x for s in honest for x in s.latencies)
    return {"lat": lat, "errors": [(s.index, e) for s in honest + [late] for e in s.errors],
            "rss": (rss0, rss1, rss_mb(pid)), "threads": (threads0, threads1, threads(pid)), "open_ms": open_ms}


async def run(args, url: str, models, pid: int) -> int:
    print(f"{args.sessions[0]} honest learners drawing (class mode) for {args.seconds:.0f} s while N tabs each send "
          f"a maximal drawing every {1000 * FLOOD_EVERY_S:.0f} ms; RSS/threads: before, end of attack, "
          f"{args.settle:.0f} s after")
    print(f"{'N':>3} {'draws':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>8} {'errors':>6} {'open after ms':>13} "
          f"{'RSS MB':>17} {'threads':>12}")
    failed = 0
    for n in args.attack:
        r = await measure(url, n, args, models, pid)
        lat, failed = r["lat"], failed + len(r["errors"])
        print(f"{n:>3} {len(lat):>6} {pct(lat, 50):7.0f} {pct(lat, 95):7.0f} {max(lat, default=float('nan')):8.0f} "
              f"{len(r['errors']):>6} {r['open_ms']:13.0f} {'/'.join(f'{x:.0f}' for x in r['rss']):>17} "
              f"{'/'.join(str(x) for x in r['threads']):>12}", flush=True)
        for i, e in r["errors"][:3]:
            print(f"      session {i}: {e}")
    return 1 if failed else 0
