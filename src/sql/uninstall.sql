-- TODO: uninstall
SELECT 1;
