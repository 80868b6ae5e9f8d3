# Chinese business documents group digits in thousands (12,345,678); Django's zh_Hans has no grouping.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
