-- raw-sql: insert a batch of jobs in one statement.
INSERT INTO raw_job (entrypoint, payload)
SELECT 'bench', convert_to(i::text, 'UTF8') FROM generate_series(1, :batch) AS i;
