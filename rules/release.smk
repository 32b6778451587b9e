rule export_microdata:
    """Released microdata (k-anonymous, no free text): CSV, Parquet, SPSS, Stata + datapackage.json."""
    input:
        responses=rules.clean_responses.output.responses,
        weights=rules.rake_weights.output.weights,
        codebook=CODEBOOK,
    output:
        datapackage=f"{paths.rel(paths.RELEASE)}/datapackage.json",
        files=[
            f"{paths.rel(paths.RELEASE)}/{name}"
            for name in (
                "microdata.parquet",
                "microdata.csv",
                "microdata.sav",
                "microdata.dta",
                "variables.csv",
                "kanonymity_report.csv",
                "README.txt",
            )
        ],
    log:
        "logs/export_microdata.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input: py_cmd(
            "belmig.cli",
            "export",
            "--responses",
            input.responses,
            "--weights",
            input.weights,
            "--codebook",
            input.codebook,
            "--privacy",
            json.dumps(config["privacy"]),
            "--out-dir",
            paths.rel(paths.RELEASE),
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
