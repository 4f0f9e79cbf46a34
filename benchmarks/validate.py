"""Throughput and peak memory of `shared.validation` against two baselines, in one run.

    python benchmarks/validate.py                 # 1 MB, 50 MB and 500 MB files
    python benchmarks/validate.py --sizes 1,20    # a quick run
    python benchmarks/validate.py --sizes 40 --cli-only   # only the command-line pair

For each size it writes a file of realistic Japanese and English chat examples into a temporary
directory, then measures, each in its own subprocess (so peak RSS belongs to one measurement):
- `validator`: `validate_dataset(read_chunks(file))`, the real thing;
- `tiktoken x2`: the floor, `encode_ordinary` over every message's text, the texts split in two
  halves encoded by two threads (texts extracted beforehand, not timed);
- `naive`: a straightforward loop: `json.loads` per line, per-message checks, `encode_ordinary`
  of every content on one thread.
And, whole processes timed from outside (start-up included), the command line against its floor:
- `CLI`: `python -m shared.validation FILE --format json`, as a user runs it;
- `CLI floor`: `python -c` that imports tiktoken, loads o200k_base as `get_encoding` does, reads
  the same texts (written beforehand, NUL-separated) and encodes them on two threads.
MB/s is file megabytes (10^6 bytes) per second for all; each figure is the best of `--repeat`
runs (taken in turns), peak RSS the highest. Needs no network.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: import the project's packages

JA_SYSTEM = "あなたは港町の古い灯台を守ってきた元灯台守、潮見ハルです。穏やかな口調で答えます。"
EN_SYSTEM = "You are Captain Mira Voss, a retired airship pilot who answers with dry humour."
JA_PHRASES = [
    "今日の海はとても穏やかで、遠くの島までよく見えます。",
    "霧の夜には、灯りを絶やさないことが何より大切でした。",
    "若い頃は嵐の中を一晩中起きて、レンズを磨き続けたものです。",
    "港の市場では朝早くから新鮮な魚が並びます。",
    "灯台の階段は百二十八段あって、毎日上り下りしていました。",
    "船乗りたちは光の点滅の間隔で、どの灯台かを見分けるのです。",
    "冬の風は冷たいですが、星空は一年でいちばん美しい季節です。",
    "お茶を淹れながら、潮の満ち引きを帳面に書き留めていました。",
]
JA_QUESTIONS = [
    "灯台の仕事で一番大変だったことは何ですか？",
    "霧の夜はどうやって船を守ったのですか？",
    "おすすめの散歩道を教えてください。",
    "子どもの頃の思い出を聞かせてもらえますか？",
    "嵐の前にはどんな準備をしましたか？",
]
EN_PHRASES = [
    "The wind over the northern ridge was always stronger than the charts admitted.",
    "We navigated by the lighthouse beams and a good deal of stubbornness.",
    "Never trust a barometer that has been dropped more than twice.",
    "The trick with a crosswind landing is to look calm while panicking quietly.",
    "Our cargo was mostly tea, spare propellers and somebody's very large cat.",
    "A clear night over the sea is the closest thing to silence I know.",
]
EN_QUESTIONS = [
    "What was the hardest landing you ever made?",
    "How did you find your way in thick fog?",
    "Do you miss flying?",
    "What should a new pilot learn first?",
    "Tell me about your strangest cargo.",
]


def example(rng: random.Random) -> str:
    japanese = rng.random() < 0.5
    system, phrases, questions = (
        (JA_SYSTEM, JA_PHRASES, JA_QUESTIONS) if japanese else (EN_SYSTEM, EN_PHRASES, EN_QUESTIONS)
    )
    joiner = "" if japanese else " "
    messages = [{"role": "system", "content": system}]
    for _ in range(rng.randint(1, 3)):
        question = rng.choice(questions) + joiner + rng.choice(phrases)
        answer = joiner.join(rng.choice(phrases) for _ in range(rng.randint(2, 12)))
        messages += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
    # Real files come both ways: \u-escaped (json.dumps' default) and raw UTF-8.
    return json.dumps({"messages": messages}, ensure_ascii=rng.random() < 0.5)


def generate(path: Path, megabytes: float, seed: int = 7) -> None:
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            line = example(rng) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))


# --- measurements, each run in a child process -------------------------------------------------


def measure_validator(path: Path) -> dict[str, object]:
    from shared.tokens import o200k
    from shared.validation import read_chunks, validate_dataset

    o200k()  # loaded once per process in the service too; the baselines load it untimed as well
    with path.open("rb") as handle:
        start = time.perf_counter()
        report = validate_dataset(read_chunks(handle), max_file_bytes=1 << 40)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "valid": report.valid, "tokens": report.stats.files[0].tokens}


def _texts(path: Path) -> list[str]:
    texts: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            texts.extend(message["content"] for message in json.loads(line)["messages"])
    return texts


def measure_tiktoken(path: Path) -> dict[str, object]:
    from shared.tokens import o200k

    encode = o200k().encode_ordinary
    texts = _texts(path)
    half = len(texts) // 2
    totals = [0, 0]

    def work(slot: int, part: list[str]) -> None:
        totals[slot] = sum(len(encode(text)) for text in part)

    threads = [
        threading.Thread(target=work, args=(0, texts[:half])),
        threading.Thread(target=work, args=(1, texts[half:])),
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.perf_counter() - start, "content_tokens": sum(totals)}


def measure_naive(path: Path) -> dict[str, object]:
    from shared.tokens import o200k

    encode = o200k().encode_ordinary
    start = time.perf_counter()
    tokens = errors = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            value = json.loads(line)
            messages = value.get("messages") if isinstance(value, dict) else None
            if not isinstance(messages, list) or not messages:
                errors += 1
                continue
            for message in messages:
                if (
                    not isinstance(message, dict)
                    or message.get("role") not in {"system", "user", "assistant"}
                    or not isinstance(message.get("content"), str)
                ):
                    errors += 1
                else:
                    tokens += 3 + 1 + len(encode(message["content"]))
            tokens += 3
    return {"seconds": time.perf_counter() - start, "tokens": tokens, "errors": errors}


MEASURES = {"validator": measure_validator, "tiktoken": measure_tiktoken, "naive": measure_naive}

CLI_FLOOR = """
import os, sys, threading
os.environ.setdefault("TIKTOKEN_CACHE_DIR", sys.argv[2])
import tiktoken
encode = tiktoken.get_encoding("o200k_base").encode_ordinary
with open(sys.argv[1], encoding="utf-8") as handle:
    texts = handle.read().split("\\0")
half = len(texts) // 2
totals = [0, 0]
def work(slot, part):
    totals[slot] = sum(len(encode(text)) for text in part)
threads = [threading.Thread(target=work, args=(0, texts[:half])),
           threading.Thread(target=work, args=(1, texts[half:]))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(sum(totals))
"""


def _timed_process(command: list[str]) -> dict[str, object]:
    """Wall time of a whole process, from before it starts to its exit, and its peak RSS."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):  # 1: invalid data, still a full run
        raise RuntimeError(f"{command[:3]} exited with {child.returncode}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024}


def measure_cli(path: Path, texts: Path) -> dict[str, object]:
    return _timed_process(
        [sys.executable, "-m", "shared.validation", str(path), "--format", "json"]
    )


def measure_cli_floor(path: Path, texts: Path) -> dict[str, object]:
    tokenizer = REPO / "shared" / "tokenizer"
    return _timed_process([sys.executable, "-c", CLI_FLOOR, str(texts), str(tokenizer)])


PROCESS_MEASURES = {"cli": measure_cli, "cli_floor": measure_cli_floor}


def write_texts(path: Path, texts_path: Path) -> None:
    texts_path.write_text("\0".join(_texts(path)), encoding="utf-8")


def measure_processes(path: Path, texts: Path, repeat: int) -> dict[str, dict[str, object]]:
    """Per kind, the fastest of `repeat` whole-process runs, taking turns."""
    runs: dict[str, list[dict[str, object]]] = {kind: [] for kind in PROCESS_MEASURES}
    for _ in range(repeat):
        for kind, measure in PROCESS_MEASURES.items():
            runs[kind].append(measure(path, texts))
    return {
        kind: {
            **min(results, key=lambda run: float(run["seconds"])),
            "peak_rss_mb": max(float(run["peak_rss_mb"]) for run in results),
        }
        for kind, results in runs.items()
    }


def run_child(kind: str, path: Path) -> dict[str, object]:
    result = MEASURES[kind](path)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def measure_in_subprocess(kind: str, path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def measure_all(path: Path, repeat: int) -> dict[str, dict[str, object]]:
    """Per kind, the fastest of `repeat` runs with the highest RSS seen.

    The kinds take turns (validator, tiktoken, naive, validator, ...) so that a busy spell on a
    shared machine slows all of them alike rather than one.
    """
    runs: dict[str, list[dict[str, object]]] = {kind: [] for kind in MEASURES}
    for _ in range(repeat):
        for kind in MEASURES:
            runs[kind].append(measure_in_subprocess(kind, path))
    best = {}
    for kind, results in runs.items():
        fastest = min(results, key=lambda run: float(run["seconds"]))
        best[kind] = {**fastest, "peak_rss_mb": max(float(run["peak_rss_mb"]) for run in results)}
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,50,500", help="file sizes in MB, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument(
        "--cli-only", action="store_true", help="measure only the command line and its floor"
    )
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child[0], Path(args.child[1]))))
        return
    print(f"{'size':>8} {'measure':>12} {'MB/s':>8} {'peak RSS MB':>12} {'vs tiktoken x2':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (float(text) for text in args.sizes.split(",")):
            path = Path(tmp) / f"bench-{size:g}MB.jsonl"
            generate(path, size)
            megabytes = path.stat().st_size / 1_000_000
            if not args.cli_only:
                results = measure_all(path, args.repeat)
                _print_rows(megabytes, results, "tiktoken", IN_PROCESS_ROWS)
            texts = Path(tmp) / "texts.txt"
            write_texts(path, texts)
            _print_rows(
                megabytes, measure_processes(path, texts, args.repeat), "cli_floor", CLI_ROWS
            )
            path.unlink()
            texts.unlink()


IN_PROCESS_ROWS = (("validator", "validator"), ("tiktoken", "tiktoken x2"), ("naive", "naive"))
CLI_ROWS = (("cli", "CLI"), ("cli_floor", "CLI floor"))


def _print_rows(
    megabytes: float,
    results: dict[str, dict[str, object]],
    baseline: str,
    rows: tuple[tuple[str, str], ...],
) -> None:
    floor = megabytes / float(results[baseline]["seconds"])
    for kind, label in rows:
        result = results[kind]
        rate = megabytes / float(result["seconds"])
        print(
            f"{megabytes:>6.1f}MB {label:>12} {rate:>8.1f} "
            f"{float(result['peak_rss_mb']):>12.0f} {rate / floor:>14.0%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
