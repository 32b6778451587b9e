rule estimate_values:
    """Shares and means, unweighted and weighted, with calibration-aware SEs and CIs; reproduction table."""
    input:
        nb=f"{NB}/05_estimate.ipynb",
        responses=rules.clean_responses.output.responses,
        weights=rules.rake_weights.output.weights,
        codebook=CODEBOOK,
        figures=PUBLISHED_FIGURES,
        statements=PUBLISHED_STATEMENTS,
    output:
        estimates=f"{PROC}/estimates.parquet",
        reproduction=f"{PROC}/reproduction.csv",
        values=f"{VALUES}/estimate.json",
        notebook=f"{EXE}/05_estimate.ipynb",
        html=f"{EXE}/05_estimate.html",
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
                "min_cell": config["privacy"]["min_cell"],
                "out_estimates": output.estimates,
                "out_reproduction": output.reproduction,
                "out_values": output.values,
            },
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
