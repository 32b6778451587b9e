rule export_microdata:
    """Released microdata (k-anonymous the attacker's way, no free text, shuffled, random ids): CSV, Parquet, SPSS, Stata + datapackage.json."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("export_microdata", "privacy", "seed"),
        responses=rules.clean_responses.output.responses,
        weights=rules.rake_weights.output.weights,
        codebook=CODEBOOK,
        levels=rules.estimate_values.output.levels,
        # the keys the report prints: a protective blank takes the answers the tables cross it with
        text_keys=REPORT_KEYS,
        code=sorted(str(p) for p in Path("src/belmig/release").glob("*.py"))
        + [f"src/belmig/privacy/{m}.py" for m in ("__init__", "kanon", "explain")],
    output:
        datapackage=f"{paths.rel(paths.RELEASE)}/datapackage.json",
        csv=f"{paths.rel(paths.RELEASE)}/microdata.csv",
        parquet=f"{paths.rel(paths.RELEASE)}/microdata.parquet",
        sav=f"{paths.rel(paths.RELEASE)}/microdata.sav",
        dta=f"{paths.rel(paths.RELEASE)}/microdata.dta",
        variables=f"{paths.rel(paths.RELEASE)}/variables.csv",
        kanonymity=f"{paths.rel(paths.RELEASE)}/kanonymity_report.csv",
        readme=f"{paths.rel(paths.RELEASE)}/README.txt",
        summary=f"{PROC}/release_summary.json",
    log:
        "logs/export_microdata.log",
    # on the way to the English PDF (protect_values audits against the release): before the
    # edition charts, which nothing waits for until the editions render
    priority: 10
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd(
            "belmig.release",
            "--responses",
            input.responses,
            "--weights",
            input.weights,
            "--codebook",
            input.codebook,
            "--privacy",
            json.dumps(config["privacy"]),
            "--seed",
            config["seed"],
            "--out-dir",
            paths.rel(paths.RELEASE),
            "--summary",
            output.summary,
            "--levels",
            input.levels,
            "--report-keys",
            input.text_keys,
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
