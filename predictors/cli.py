"""``archbench predictors``: list, evaluate (sample-efficiency curves), fit on a frozen split, predict.

Heavy imports (lightgbm, torch, scikit-learn) happen inside the command bodies, so ``archbench --help``
stays fast. Errors are one line and exit 2 (through the root CLI); outputs are written to a temporary
sibling folder and renamed into place, so a failed command leaves nothing half-written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli import CLIError, int_list, name_list


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench predictors`` and its actions."""
    p = sub.add_parser(
        "predictors",
        help="performance predictors: list, evaluate, fit, predict",
        description="Performance predictors on archbench tables, evaluated under one frozen protocol.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="registered predictors (the default)")
    listing.add_argument("--filter", default=None, help="fnmatch pattern, e.g. 'l*'")
    listing.set_defaults(func=_list)

    ev = actions.add_parser(
        "evaluate",
        help="sample-efficiency curves (Kendall, Spearman, top-k, NDCG, regret with 95%% CIs)",
        description="Fit each model on the protocol's frozen training splits (every size and seed) and score it "
        "on the fixed test set of unique arch_ids; writes curves.csv/.parquet, curves.png/.svg, runs.csv, "
        "predictions.parquet and report.md/.json.",
    )
    _protocol_arguments(ev)
    ev.add_argument(
        "--models",
        type=name_list,
        required=True,
        help="predictor[:encoding] list, e.g. lightgbm:onehot+zc,gnn:graph (encoding default: --encoding)",
    )
    ev.add_argument("--train-sizes", type=int_list, default=None, help="default: 10,20,50,100,200,500,1000")
    ev.add_argument("--seeds", type=int_list, default=None, help="default: 0,1,2,3,4")
    ev.add_argument("--test-size", type=int, default=None, help="test classes (default: 1000)")
    ev.add_argument("--n-boot", type=int, default=None, help="bootstrap resamples (default: 1000)")
    ev.add_argument("--out", type=Path, required=True, help="new folder for the outputs")
    ev.set_defaults(func=_evaluate)

    fit = actions.add_parser(
        "fit",
        help="fit one predictor on a frozen training split and save it",
        description="Fit on the protocol's training split of --train-size classes under --seed (never a test "
        "class), hyper-parameters by cross-validation inside it; save the artefact (no pickle) to --out.",
    )
    _protocol_arguments(fit)
    fit.add_argument("--predictor", required=True, help="registered predictor, e.g. lightgbm")
    fit.add_argument("--train-size", type=int, required=True, help="training classes (from the frozen pool)")
    fit.add_argument("--seed", type=int, default=0, help="training draw and model seed (default: 0)")
    fit.add_argument("--out", type=Path, required=True, help="new folder for the saved predictor")
    fit.set_defaults(func=_fit)

    tr = actions.add_parser(
        "transfer",
        help="few-shot latency transfer to unseen devices, leave-one-device-out (HELP-style)",
        description="Hold out each device (all its batch-size settings), pretrain on the others, adapt from "
        "--shots reference cells of the held-out device, and report Kendall tau-b on the protocol's test cells "
        "beside a shots-only model and the zero-shot mean of the source devices.",
    )
    tr.add_argument(
        "--latency", type=Path, required=True, help="table of per-device latencies (import hw-table)"
    )
    tr.add_argument("--metric", default="latency", help="latency metric in the table (default: latency)")
    tr.add_argument("--space", default="nb201", help="search space (default: nb201)")
    tr.add_argument(
        "--encoding", default="onehot", help="cell encoding (default: onehot: dead convs still run)"
    )
    tr.add_argument(
        "--shots", type=int, default=10, help="measured reference cells per new device (default: 10)"
    )
    tr.add_argument("--source-cells", type=int, default=1000, help="cells per source device (default: 1000)")
    tr.add_argument("--groups", type=name_list, default=None, help="device groups to hold out (default: all)")
    tr.add_argument("--seed", type=int, default=0, help="draw of the reference and source cells (default: 0)")
    tr.add_argument("--out", type=Path, required=True, help="new folder for transfer.csv and transfer.md")
    tr.set_defaults(func=_transfer)

    su = actions.add_parser(
        "surrogate",
        help="a surrogate table: a fitted predictor's mean and std for every class of its space",
        description="Predict every equivalence class of the model's space and release the predictions as an "
        "archbench table (metrics <target> and <target>_std, provenance 'predicted'); report the held-out "
        "Kendall tau and the coverage of the 68 %% / 95 %% intervals on the protocol's test classes.",
    )
    su.add_argument("--model", type=Path, required=True, help="folder written by 'predictors fit'")
    su.add_argument("--truth", type=Path, required=True, help="the truth table the model was fitted on")
    su.add_argument("--features-table", type=Path, default=None, help="table of proxy values for 'zc'")
    su.add_argument("--out", type=Path, required=True, help="new folder for journal.sqlite and table/")
    su.set_defaults(func=_surrogate)

    pr = actions.add_parser("predict", help="predict architectures with a saved predictor (CSV to stdout)")
    pr.add_argument("--model", type=Path, required=True, help="folder written by 'predictors fit'")
    pr.add_argument("--arch", action="append", default=[], help="architecture string (repeatable)")
    pr.add_argument("--archs", type=Path, default=None, help="file with one architecture string per line")
    pr.add_argument("--features-table", type=Path, default=None, help="table of proxy values for 'zc'")
    pr.set_defaults(func=_predict)
    p.set_defaults(func=_list, filter=None)


def _protocol_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--truth", type=Path, required=True, help="table holding the target (e.g. imported)")
    p.add_argument("--target", default="test_acc_200ep", help="target metric (default: test_acc_200ep)")
    p.add_argument("--task", default="cifar10", help="task of the target (default: cifar10)")
    p.add_argument("--space", default="nb201", help="search space (default: nb201)")
    p.add_argument(
        "--encoding", default="onehot", help="encoding spec, kinds joined by '+' (default: onehot)"
    )
    p.add_argument("--features-table", type=Path, default=None, help="table of proxy values for 'zc'")
    p.add_argument(
        "--features", type=name_list, default=None, help="zc metrics (default: every proxy/cost one)"
    )
    p.add_argument("--features-task", default=None, help="task of the zc features (default: --task)")


def _list(args: argparse.Namespace) -> int:
    from predictors.base import get_predictor_class, list_predictors

    for name in list_predictors(args.filter):
        card = get_predictor_class(name).card
        std = "mean+std" if card.has_std else "mean"
        print(f"{name:14s} {card.input:6s} {std:8s} {card.summary}  [{card.paper}]")
    return 0


def _protocol(args: argparse.Namespace, **overrides: object):
    from predictors.protocol import EvalProtocol

    given = {k: v for k, v in overrides.items() if v is not None}
    return EvalProtocol(space=args.space, task=args.task, target=args.target, **given)


def _tables(args: argparse.Namespace):
    from benchmarks.table import open_table

    return open_table(args.truth), open_table(args.features_table) if args.features_table else None


def _candidates(args: argparse.Namespace) -> list:
    from predictors.base import get_predictor_class
    from predictors.evaluate import Candidate

    out = []
    for item in args.models:
        name, _, encoding = item.partition(":")
        if not encoding:
            encoding = "graph" if get_predictor_class(name).card.input == "graph" else args.encoding
        out.append(Candidate(name, encoding))
    return out


def _evaluate(args: argparse.Namespace) -> int:
    from predictors.evaluate import evaluate
    from predictors.report import to_markdown, write_evaluation

    if args.out.exists():
        raise CLIError(f"{args.out} already exists; choose a new folder")
    protocol = _protocol(
        args, train_sizes=args.train_sizes, seeds=args.seeds, test_size=args.test_size, n_boot=args.n_boot
    )
    candidates = _candidates(args)
    truth, features = _tables(args)
    evaluation = evaluate(
        protocol, truth, candidates, features, args.features, log=print, features_task=args.features_task
    )
    paths = write_evaluation(evaluation, args.out)
    print(to_markdown(evaluation.curves), end="")
    print("outputs: " + "  ".join(str(p) for p in paths.values()))
    return 0


def _fit(args: argparse.Namespace) -> int:
    import spaces
    from predictors.base import make_predictor
    from predictors.encodings import encode
    from predictors.evaluate import check_coverage, choose_params, representatives, truth_values, universe
    from predictors.protocol import make_splits

    if args.out.exists():
        raise CLIError(f"{args.out} already exists; choose a new folder")
    protocol = _protocol(args, train_sizes=(args.train_size,), seeds=(args.seed,))
    model = make_predictor(args.predictor, seed=args.seed)
    truth, features = _tables(args)
    values = truth_values(truth, protocol)
    splits = make_splits(protocol, universe(protocol, values))
    check_coverage(splits, values, protocol)
    ids = list(splits.train(args.train_size, args.seed))
    space = spaces.get(args.space)
    archs = representatives(truth, ids, args.space)
    features_task = args.features_task or args.task
    encoded = encode(
        space, archs, args.encoding, features, args.features, features_task, exclude=[args.target]
    )
    if encoded.input != model.card.input:
        raise CLIError(
            f"predictor {args.predictor!r} takes {model.card.input} input; {args.encoding!r} is {encoded.input}"
        )
    y = values.reindex(ids).to_numpy()
    params, cv_tau = {}, None
    if args.train_size >= protocol.cv_min_train:
        params, cv_tau = choose_params(args.predictor, encoded.X, y, protocol.cv_folds, args.seed)
    model = make_predictor(args.predictor, seed=args.seed, **params).fit(encoded.X, y)
    meta = {
        "space": args.space,
        "encoding": args.encoding,
        "features": list(encoded.provenance.get("zc", {}).get("metrics", [])),
        "target": args.target,
        "unit": truth.metrics.get(args.target, {}).get("unit", ""),
        "task": args.task,
        "features_task": features_task,
        "protocol_hash": protocol.hash,
        "protocol": protocol.to_dict(),
        "splits_sha256": splits.hash,
        "train_size": args.train_size,
        "truth_table": truth.content_id,
        "features_table": None if features is None else features.content_id,
        "cv_kendall": cv_tau,
    }
    model.save(args.out, meta)
    print(
        f"fitted {args.predictor} on {len(ids)} classes ({args.encoding}), params {params or 'defaults'} -> {args.out}"
    )
    return 0


def _predict(args: argparse.Namespace) -> int:
    import spaces
    from benchmarks.table import open_table
    from predictors.base import load_predictor
    from predictors.encodings import encode

    model = load_predictor(args.model)
    meta = model.meta
    if not {"space", "encoding", "task"} <= set(meta):
        raise CLIError(
            f"{args.model}: the artefact records no space/encoding/task; save it with 'predictors fit'"
        )
    texts = list(args.arch)
    if args.archs:
        if not args.archs.is_file():
            raise CLIError(f"{args.archs}: no such file")
        texts += [line.strip() for line in args.archs.read_text().splitlines() if line.strip()]
    if not texts:
        raise CLIError("give architectures with --arch or --archs")
    space = spaces.get(meta["space"])
    archs = []
    for text in texts:
        try:
            archs.append(space.parse(text))
        except ValueError as exc:
            raise CLIError(str(exc)) from None
    features = open_table(args.features_table) if args.features_table else None
    encoded = encode(
        space,
        archs,
        meta["encoding"],
        features,
        meta.get("features") or None,
        meta.get("features_task") or meta["task"],
        [meta.get("target", "")],
    )
    pred = model.predict(encoded.X)
    print("arch,arch_id,mean,std")
    for i, arch in enumerate(archs):
        std = "" if pred.std is None else f"{pred.std[i]:.6g}"
        print(f"{arch.string},{arch.arch_id},{pred.mean[i]:.6g},{std}")
    return 0


def _transfer(args: argparse.Namespace) -> int:
    import spaces
    from benchmarks.store import atomic_folder
    from benchmarks.table import open_table
    from predictors.encodings import encode
    from predictors.protocol import EvalProtocol, make_splits, space_classes
    from predictors.transfer import latency_matrix, transfer_evaluation

    if args.out.exists():
        raise CLIError(f"{args.out} already exists; choose a new folder")
    if args.shots < 3:
        raise CLIError(f"--shots must be >= 3, got {args.shots}")
    table = open_table(args.latency)
    matrix = latency_matrix(table, args.metric)
    space = spaces.get(args.space)
    splits = make_splits(EvalProtocol(space=args.space), space_classes(args.space))
    test_ids = set(splits.test)
    archs = {a: space.parse(a) for a in matrix.index}
    test = [a for a, arch in archs.items() if arch.arch_id in test_ids]
    pool = [a for a, arch in archs.items() if arch.arch_id not in test_ids]
    cells = list(archs)
    X = encode(space, [archs[a] for a in cells], args.encoding, per_class=False).X  # a cost: each cell itself
    result = transfer_evaluation(
        matrix, dict(zip(cells, X)), test, pool, args.shots, args.source_cells, args.seed, args.groups
    )
    frame = result.table
    text = frame.to_string(index=False, float_format=lambda v: f"{v:.3f}")
    names = ["transfer", "shots_only", "zero_shot_mean"]
    kendalls, spearmans = frame[names].mean(), frame[[f"{n}_spearman" for n in names]].mean()
    summary = (
        "mean Kendall tau: "
        + ", ".join(f"{k} {v:.3f}" for k, v in kendalls.items())
        + "; mean Spearman: "
        + ", ".join(f"{k} {v:.3f}" for k, v in zip(names, spearmans))
    )
    with atomic_folder(args.out) as tmp:
        frame.to_csv(tmp / "transfer.csv", index=False)
        (tmp / "transfer.md").write_text(
            f"# Latency transfer, {args.shots} shots, encoding {args.encoding}\n\n```\n{text}\n```\n\n{summary}\n"
        )
    print(text)
    print(summary)
    print(f"outputs: {args.out / 'transfer.csv'}  {args.out / 'transfer.md'}")
    return 0


def _surrogate(args: argparse.Namespace) -> int:
    from benchmarks.table import open_table
    from predictors.base import load_predictor
    from predictors.surrogate import surrogate_table

    model = load_predictor(args.model)
    truth = open_table(args.truth)
    features = open_table(args.features_table) if args.features_table else None
    path, report = surrogate_table(model, args.model, args.out, truth, features)
    coverage = report.get("coverage", {})
    print(
        f"held out ({report['test_classes']} test classes): kendall {report['kendall']:.3f}, "
        f"spearman {report['spearman']:.3f}, rmse {report['rmse']:.3f}; interval coverage "
        + ", ".join(f"{level} %: {value:.3f}" for level, value in coverage.items())
    )
    print(f"surrogate table -> {path}")
    return 0
