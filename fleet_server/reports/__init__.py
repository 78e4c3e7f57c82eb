"""Reports: the annual report (Điều 14), the inspection archive (Điều 9.1), exports."""
