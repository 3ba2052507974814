-- TODO: complete
SELECT 1;
