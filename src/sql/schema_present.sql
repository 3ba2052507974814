-- TODO: schema_present
SELECT 1;
