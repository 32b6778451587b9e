rule estimate_values:
    """Shares and means, unweighted and weighted, with calibration-aware SEs and CIs, on the planned
    subgroup levels; whole-table tests with multiplicity control; sensitivity tables; reproduction table."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("estimate_values", "estimation", "weighting", "privacy"),
        nb=f"{NB}/05_estimate.ipynb",
        responses=rules.clean_responses.output.responses,
        weights=rules.rake_weights.output.weights,
        codebook=CODEBOOK,
        figures=PUBLISHED_FIGURES,
        statements=PUBLISHED_STATEMENTS,
        code=package_code("estimate"),
    output:
        estimates=f"{PROC}/estimates.parquet",
        levels=f"{PROC}/level_plan.csv",
        multi_bases=f"{PROC}/multi_bases.csv",
        frame=f"{PROC}/frame_sensitivity.csv",
        reproduction=f"{PROC}/reproduction.csv",
        values=f"{VALUES}/estimate.json",
        notebook=f"{EXE}/05_estimate.ipynb",
    log:
        "logs/estimate_values.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: nb_cmd(
            "05_estimate",
            {
                "responses": input.responses,
                "weights": input.weights,
                "codebook": input.codebook,
                "figures": input.figures,
                "statements": input.statements,
                "estimation": config["estimation"],
                "alternative_frame": config["weighting"]["alternative_frame"],
                "min_cell": config["privacy"]["min_cell"],
                "out_estimates": output.estimates,
                "out_levels": output.levels,
                "out_multi_bases": output.multi_bases,
                "out_frame": output.frame,
                "out_reproduction": output.reproduction,
                "out_values": output.values,
            },
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
