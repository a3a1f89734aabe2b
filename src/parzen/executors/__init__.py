"""Where trials run: in process (`SerialExecutor`) or on Spark (`SparkExecutor`)."""
