rule estimate_values:
    """Shares and means, unweighted and weighted, with calibration-aware SEs and CIs; reproduction table."""
    input:
        nb=f"{NB}/05_estimate.ipynb",
        responses=f"{PROC}/responses.parquet",
        weights=f"{PROC}/weights.parquet",
        codebook=CODEBOOK,
        figures="data/published/figures.csv",
        statements="data/published/statements.csv",
    output:
        estimates=f"{PROC}/estimates.parquet",
        reproduction=f"{PROC}/reproduction.csv",
        values=f"{VALUES}/estimate.json",
        notebook=f"{EXE}/05_estimate.ipynb",
        html=f"{EXE}/05_estimate.html",
    conda:
        "../environment.yml"
    log:
        "logs/estimate_values.log",
    params:
        cmd=lambda w, input, output: nb_cmd("05_estimate", {
            "responses": input.responses, "weights": input.weights, "codebook": input.codebook,
            "figures": input.figures, "statements": input.statements,
            "estimation": config["estimation"], "min_cell": config["privacy"]["min_cell"],
            "out_estimates": output.estimates, "out_reproduction": output.reproduction,
            "out_values": output.values,
        }),
    shell:
        "{params.cmd} > {log} 2>&1"
