rule rake_weights:
    """Rake the analysed sample to the population margins under data/external/."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("rake_weights", "weighting"),
        nb=f"{NB}/04_weight.ipynb",
        responses=rules.clean_responses.output.responses,
        codebook=CODEBOOK,
        margins=config["weighting"]["margins"],
        margins_meta=margin_sidecars(config["weighting"]["margins"]),
        code=package_code("weight"),
    output:
        weights=f"{PROC}/weights.parquet",
        diagnostics=f"{PROC}/weighting_diagnostics.csv",
        summary=f"{PROC}/weighting_summary.json",
        values=f"{VALUES}/weight.json",
        notebook=f"{EXE}/04_weight.ipynb",
    log:
        "logs/rake_weights.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: nb_cmd(
            "04_weight",
            {
                "responses": input.responses,
                "codebook": input.codebook,
                "margins": list(input.margins),
                "weighting": config["weighting"],
                "out_weights": output.weights,
                "out_diagnostics": output.diagnostics,
                "out_summary": output.summary,
                "out_values": output.values,
            },
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
