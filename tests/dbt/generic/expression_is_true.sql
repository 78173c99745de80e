{#-
    An identity or bound every row must satisfy (a bridge that adds up, a rate in [0, 1]):
    the rows where `expression` is false. A null result (a rate over an empty denominator)
    passes; wrap the expression in coalesce where null must fail.
-#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}

{#- A rate (a 0-1 fraction) in [0, 1], null allowed: the bound of every *_rate column. -#}
{% test is_unit_interval(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < 0 or {{ column_name }} > 1
{% endtest %}
