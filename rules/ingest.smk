rule ingest_export:
    """Read and validate the raw export against the codebook; drop direct identifiers."""
    input:
        nb=f"{NB}/02_ingest.ipynb",
        export=config["raw_export"],
        export_meta=export_sidecar(config["raw_export"]),
        codebook=CODEBOOK,
    output:
        ingested=f"{PROC}/ingested.parquet",
        values=f"{VALUES}/ingest.json",
        notebook=f"{EXE}/02_ingest.ipynb",
        html=f"{EXE}/02_ingest.html",
    log:
        "logs/ingest_export.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: nb_cmd(
            "02_ingest",
            {
                "raw_export": input.export,
                "codebook": input.codebook,
                "out_ingested": output.ingested,
                "out_values": output.values,
            },
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
