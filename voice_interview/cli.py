"""``voice-interview serve | models | report | rescore | eval-bench | bench | db``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from voice_interview.engines.models import ModelNotFoundError
from voice_interview.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from voice_interview.domain.question import Question
    from voice_interview.interview.evaluation.evaluator import Evaluator


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    for name in ("host", "port", "database_url", "llm_model", "check_model"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return load_settings(getattr(args, "config", None), **overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from voice_interview.engines.registry import resolve_all
    from voice_interview.logs import setup_logging
    from voice_interview.server.app import create_app

    settings = _settings(args)
    setup_logging(settings.log_level, settings.log_format)
    if (refused := _prepare_database(settings)) is not None:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    resolve_all(settings)  # a missing model is one clear line now, not a failure later
    app = create_app(settings)
    print(f"voice-interview listening on http://{settings.host}:{settings.port}", flush=True)
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    return 0


def _database_errors() -> tuple[type[Exception], ...]:
    from sqlalchemy.exc import SQLAlchemyError

    from voice_interview.store.schema import SchemaError

    return (SchemaError, SQLAlchemyError, OSError)


def _database_error(settings: Settings, e: Exception) -> str:
    """One line: a schema refusal as it is; a database that cannot be opened, with its URL."""
    from sqlalchemy.engine import make_url

    from voice_interview.store.schema import SchemaError

    if isinstance(e, SchemaError):
        return str(e)
    url = make_url(settings.database_url).render_as_string(hide_password=True)
    return f"cannot open the database {url}: {(str(e).splitlines() or [type(e).__name__])[0]}"


def _prepare_database(settings: Settings) -> str | None:
    """Create the schema in an empty database; why not, if it is at another revision or
    cannot be opened."""
    from voice_interview.store.repository import Repository

    async def run() -> str | None:
        repo = Repository(settings.database_url)
        try:
            await repo.init()
        except _database_errors() as e:
            return _database_error(settings, e)
        finally:
            await repo.close()
        return None

    return asyncio.run(run())


def cmd_db(args: argparse.Namespace) -> int:
    from voice_interview.store.repository import Repository
    from voice_interview.store.schema import INITIAL_REVISION

    settings = _settings(args)

    async def run() -> int:
        repo = Repository(settings.database_url)
        try:
            if args.action == "current":
                print(await repo.schema_revision() or "none")
                return 0
            result = await repo.upgrade_schema()
        except _database_errors() as e:
            print(f"error: {_database_error(settings, e)}", file=sys.stderr)
            return 2
        finally:
            await repo.close()
        start = INITIAL_REVISION if result.stamped else result.before
        if result.stamped:
            print(f"tables from before migrations match revision {start}: stamped")
        if start == result.after:
            print(f"database schema is at revision {result.after}: up to date")
        else:
            print(f"database schema upgraded from {start or 'none'} to {result.after}")
        return 0

    return asyncio.run(run())


def cmd_models(args: argparse.Namespace) -> int:
    from voice_interview.engines.registry import resolve_all

    settings = _settings(args)
    files = resolve_all(settings)
    if args.json:
        print(json.dumps({role: f.describe() for role, f in files.items()}, indent=2))
        return 0
    for role, f in files.items():
        info = f.describe()
        print(f"{role.upper():5} {info['name']}")
        print(f"      path   {info['path']}")
        print(f"      size   {int(str(info['size_bytes'])) / 1e6:.1f} MB")
        print(f"      sha256 {info['sha256']}")
        print(f"      source {info['source']} (override with {f.setting})")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from voice_interview.interview.report import build_report, render_html
    from voice_interview.store.repository import NotFoundError, Repository

    settings = _settings(args)

    async def run() -> int:
        repo = Repository(settings.database_url)
        await repo.init()
        try:
            interview = await repo.get_interview(args.interview_id)
            report = build_report(interview, await repo.answer_records(args.interview_id))
        except NotFoundError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        finally:
            await repo.close()
        print(render_html(report) if args.html else json.dumps(report, indent=2))
        return 0

    return asyncio.run(run())


def _evaluator(
    settings: Settings, *, no_llm: bool, others: Sequence[Question] | None = None
) -> Evaluator:
    """The server's evaluator, loaded here (``--no-llm``: code-written feedback only; the
    check model, VI_CHECK_MODEL, is loaded either way, since it weighs in the score);
    ``others``: the questions an answer may belong to instead (default: the bank)."""
    from voice_interview.engines.embed import Embedder
    from voice_interview.engines.llm import LocalLLM
    from voice_interview.engines.models import resolve_model
    from voice_interview.engines.registry import check_engine
    from voice_interview.interview.evaluation.evaluator import Evaluator

    llm = None if no_llm else LocalLLM(resolve_model("llm", settings), settings)
    embedder = Embedder(resolve_model("embed", settings))
    checker = check_engine(settings, llm)
    return Evaluator.configured(llm, embedder, settings, others, checker=checker)


def cmd_rescore(args: argparse.Namespace) -> int:
    from voice_interview.interview.evaluation.rescore import (
        RescoreError,
        format_summary,
        rescore_interview,
    )
    from voice_interview.store.repository import NotFoundError, Repository

    settings = _settings(args)  # --llm-model wins over VI_LLM_MODEL and the config file
    evaluator = _evaluator(settings, no_llm=args.no_llm)

    async def run() -> int:
        repo = Repository(settings.database_url)
        await repo.init()
        try:
            summary = await rescore_interview(repo, evaluator, args.interview_id)
        except (NotFoundError, RescoreError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        finally:
            await repo.close()
        print(json.dumps(summary.to_dict(), indent=2) if args.json else format_summary(summary))
        return 0

    return asyncio.run(run())


def cmd_eval_bench(args: argparse.Namespace) -> int:
    from voice_interview.bench.eval_bench import load_labelled, question_pool, run_eval

    settings = _settings(args)
    items = load_labelled(Path(args.file))
    pool = question_pool(items)
    if args.split is not None:
        items = [i for i in items if i.split == args.split]
        if not items:
            print(f"error: no questions with split {args.split!r}", file=sys.stderr)
            return 1
    evaluator = _evaluator(settings, no_llm=args.no_llm, others=pool)
    transform = None
    if args.speech:
        from voice_interview.bench.speech_roundtrip import speech_transform

        try:
            transform = speech_transform(settings, args.transcripts)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    result = run_eval(evaluator, items, answer_transform=transform)
    keys = (
        "pairwise_accuracy", "strong_vs_partial_accuracy", "spearman",
        "quadratic_weighted_kappa", "length_baseline",
    )
    for key in keys:
        print(f"{key:28} {result[key]:.3f}")
    # The evaluator's own time (feedback LLM and check model included), not the transform's.
    print(f"{'seconds_per_answer':28} {result['seconds_per_answer']:.2f}")
    if args.json:
        print(json.dumps({k: result[k] for k in (*keys, "seconds_per_answer")}
                         | {"pairs": result.get("pairs")}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voice-interview", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help="TOML settings file (env VI_* wins over it)")
        p.add_argument("--database-url", dest="database_url", default=None)

    serve = sub.add_parser("serve", help="run the server")
    common(serve)
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)

    models = sub.add_parser("models", help="show the model files in use")
    common(models)
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=cmd_models)

    report = sub.add_parser("report", help="print an interview's report")
    common(report)
    report.add_argument("interview_id")
    report.add_argument("--html", action="store_true")
    report.set_defaults(func=cmd_report)

    rescore = sub.add_parser(
        "rescore", help="re-evaluate an interview's stored transcripts with the current models"
    )
    common(rescore)
    rescore.add_argument("interview_id")
    rescore.add_argument(
        "--llm-model", dest="llm_model", default=None, help="GGUF file for the feedback LLM"
    )
    rescore.add_argument("--no-llm", action="store_true", help="rule-based feedback only")
    rescore.add_argument(
        "--check-model", dest="check_model", default=None,
        help="GGUF file or LLM preset for the check model (overrides VI_CHECK_MODEL)",
    )
    rescore.add_argument("--json", action="store_true")
    rescore.set_defaults(func=cmd_rescore)

    ev = sub.add_parser("eval-bench", help="rank a labelled answer set with the evaluator")
    common(ev)
    ev.add_argument("file")
    ev.add_argument("--speech", action="store_true", help="synthesize, transcribe, then evaluate")
    ev.add_argument(
        "--transcripts", default=None,
        help="with --speech: keep the transcripts in this JSON file and reuse them next time",
    )
    ev.add_argument("--no-llm", action="store_true", help="skip LLM feedback (scores unchanged)")
    ev.add_argument(
        "--check-model", dest="check_model", default=None,
        help="GGUF file or LLM preset for the check model (overrides VI_CHECK_MODEL)",
    )
    ev.add_argument(
        "--split", default=None, help="only the questions of this split (tuning, heldout)"
    )
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_eval_bench)

    db = sub.add_parser("db", help="the database schema: migrate it or show its revision")
    db_actions = db.add_subparsers(dest="action", required=True)
    for action, text in (
        ("upgrade", "migrate the database to the schema revision this version needs"),
        ("current", "print the database's schema revision (none: not migrated)"),
    ):
        p = db_actions.add_parser(action, help=text)
        common(p)
        p.set_defaults(func=cmd_db)

    try:
        from voice_interview.bench.cli import add_bench_parser
    except ImportError:
        pass
    else:
        add_bench_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ModelNotFoundError, SettingsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
