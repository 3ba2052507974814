-- TODO: verify_objects
SELECT 1;
