rule clean_responses:
    """Duplicates, test entries, screening, completeness, speeders, straight-lining; code open answers."""
    input:
        nb=f"{NB}/03_clean.ipynb",
        ingested=f"{PROC}/ingested.parquet",
        codebook=CODEBOOK,
        keywords="config/coding/keywords.yaml",
        manual="config/coding/manual.csv",
    output:
        responses=f"{PROC}/responses.parquet",
        flow=f"{PROC}/cleaning_flow.csv",
        other=f"{PROC}/other_coding.csv",
        values=f"{VALUES}/clean.json",
        notebook=f"{EXE}/03_clean.ipynb",
        html=f"{EXE}/03_clean.html",
    conda:
        "../environment.yml"
    log:
        "logs/clean_responses.log",
    params:
        cmd=lambda w, input, output: nb_cmd("03_clean", {
            "ingested": input.ingested, "codebook": input.codebook, "cleaning": config["cleaning"],
            "keywords": input.keywords, "manual": input.manual,
            "out_responses": output.responses, "out_flow": output.flow, "out_other": output.other,
            "out_values": output.values,
        }),
    shell:
        "{params.cmd} > {log} 2>&1"


rule export_microdata:
    """Released microdata (k-anonymous, no free text): CSV, Parquet, SPSS, Stata + datapackage.json."""
    input:
        responses=f"{PROC}/responses.parquet",
        weights=f"{PROC}/weights.parquet",
        codebook=CODEBOOK,
    output:
        datapackage="data/release/datapackage.json",
    conda:
        "../environment.yml"
    log:
        "logs/export_microdata.log",
    params:
        privacy=json.dumps(config["privacy"]),
    shell:
        "python -m belmig.cli export --responses {input.responses} --weights {input.weights} "
        "--privacy {params.privacy:q} --out-dir data/release > {log} 2>&1"
