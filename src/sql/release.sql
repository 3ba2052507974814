-- TODO: release
SELECT 1;
