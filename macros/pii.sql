{#-
    Personal data (METRICS I1) leaves the raw schema only as a salted hash or a masked form.
    hash_pii: hex SHA-256 of salt || value; the salt comes from var('pii_salt').
-#}
{% macro hash_pii(expression) %}
    {{ return(adapter.dispatch('hash_pii', 'loyalty_warehouse')(expression)) }}
{% endmacro %}

{% macro default__hash_pii(expression) %}
    case when {{ expression }} is not null
        then sha256({{ dbt.concat(["'" ~ var('pii_salt') ~ "'", expression]) }}) end
{% endmacro %}

{% macro postgres__hash_pii(expression) %}
    case when {{ expression }} is not null
        then encode(sha256(convert_to({{ dbt.concat(["'" ~ var('pii_salt') ~ "'", expression]) }},
            'UTF8')), 'hex') end
{% endmacro %}

{% macro spark__hash_pii(expression) %}
    case when {{ expression }} is not null
        then sha2({{ dbt.concat(["'" ~ var('pii_salt') ~ "'", expression]) }}, 256) end
{% endmacro %}

{#- The digits of a phone number: "+86 138-1234-5678" -> "8613812345678". -#}
{% macro digits_only(expression) %}
    {{ return(adapter.dispatch('digits_only', 'loyalty_warehouse')(expression)) }}
{% endmacro %}

{% macro default__digits_only(expression) %}
    regexp_replace({{ expression }}, '[^0-9]', '', 'g')
{% endmacro %}

{% macro spark__digits_only(expression) %}
    regexp_replace({{ expression }}, '[^0-9]', '')
{% endmacro %}

{#- 13812345678 -> 138****5678: digits only, first 3 and last 4 kept. -#}
{% macro mask_phone(expression) %}
    {%- set digits = digits_only(expression) -%}
    case when length({{ digits }}) >= 7
        then {{ dbt.concat(["left(" ~ digits ~ ", 3)", "'****'", "right(" ~ digits ~ ", 4)"]) }}
    end
{% endmacro %}

{#- zhang.wei@example.com -> z***@example.com -#}
{% macro mask_email(expression) %}
    case when {{ expression }} like '%@%'
        then {{ dbt.concat([
            "left(" ~ expression ~ ", 1)",
            "'***@'",
            dbt.split_part(expression, "'@'", 2),
        ]) }}
    end
{% endmacro %}
