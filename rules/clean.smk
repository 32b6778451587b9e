rule clean_responses:
    """Duplicates, test entries, screening, completeness, speeders, straight-lining; code open answers."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("clean_responses", "cleaning", "privacy"),
        nb=f"{NB}/03_clean.ipynb",
        ingested=rules.ingest_export.output.ingested,
        codebook=CODEBOOK,
        keywords=paths.rel(paths.CODING_KEYWORDS),
        manual=paths.rel(paths.CODING_MANUAL),
        code=package_code("clean"),
    output:
        responses=f"{PROC}/responses.parquet",
        flow=f"{PROC}/cleaning_flow.csv",
        other=f"{PROC}/other_coding.csv",
        values=f"{VALUES}/clean.json",
        notebook=f"{EXE}/03_clean.ipynb",
    log:
        "logs/clean_responses.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: nb_cmd(
            "03_clean",
            {
                "ingested": input.ingested,
                "codebook": input.codebook,
                "cleaning": config["cleaning"],
                "min_cell": config["privacy"]["min_cell"],
                "keywords": input.keywords,
                "manual": input.manual,
                "out_responses": output.responses,
                "out_flow": output.flow,
                "out_other": output.other,
                "out_values": output.values,
            },
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
