"""The report's words and number formats, in Chinese and English.

Every string the report prints that does not come from a mart lives here, so a translation
is one edit. Codes the marts carry (dimensions, churn reasons, complaint categories, warning
signals, slice values) are translated through `LABELS`; a code without a translation is shown
as it is rather than dropped.
"""

from __future__ import annotations

import datetime as dt
import math

LANGUAGES = ("zh", "en")
MISSING = "—"

STRINGS: dict[str, dict[str, str]] = {
    "title": {"en": "Customer loyalty and value report", "zh": "客户忠诚度与客户价值报告"},
    "subtitle": {
        "en": "Loyalty, retention and value of the customer base, with a due-diligence summary",
        "zh": "客户群的忠诚度、留存与价值,附尽职调查摘要",
    },
    "as_of": {"en": "As of", "zh": "截至"},
    "contents": {"en": "Contents", "zh": "目录"},
    "source": {"en": "Source", "zh": "数据来源"},
    "not_available": {
        "en": "not available in this warehouse: {table}",
        "zh": "本数据仓库中无此数据: {table}",
    },
    "not_available_detail": {"en": "({detail})", "zh": "({detail})"},
    "no_rows": {
        "en": "no rows in {table} for the periods up to the as-of date",
        "zh": "{table} 中没有截至报告日期的数据",
    },
    "kpi_missing": {
        "en": "Indicators not in this warehouse: {codes}",
        "zh": "本数据仓库中没有的指标: {codes}",
    },
    "footer": {
        "en": "Every figure is read from the warehouse marts named under each section; "
        "indicator codes are those of the indicator catalogue (docs/metrics.md in the "
        "project's repository; table indicator_catalogue in the published copy). No personal "
        "data: customers appear by identifier only.",
        "zh": "所有数字均读取自各节注明的数据集市;指标代码见指标目录(项目代码库中的 "
        "docs/metrics.md;发布副本中的 indicator_catalogue 表)。"
        "报告不含个人信息:客户仅以编号出现。",
    },
    # sections
    "sec_kpis": {"en": "Headline indicators", "zh": "核心指标"},
    "sec_due_diligence": {"en": "Due-diligence summary", "zh": "尽职调查摘要"},
    "sec_satisfaction": {"en": "Satisfaction by dimension", "zh": "各维度满意度"},
    "sec_retention": {"en": "Retention and churn", "zh": "客户留存与流失"},
    "sec_cohorts": {"en": "Cohort retention", "zh": "同期群留存"},
    "sec_nps": {"en": "Net promoter score", "zh": "净推荐值(NPS)"},
    "sec_complaints": {"en": "Complaints", "zh": "客户投诉"},
    "sec_clv": {
        "en": "Customer lifetime value and customer equity",
        "zh": "客户终身价值与客户资源价值",
    },
    "sec_concentration": {"en": "Customer concentration", "zh": "客户集中度"},
    "sec_segments": {"en": "Value × loyalty matrix", "zh": "价值×忠诚度矩阵"},
    "sec_at_risk": {"en": "Customers at risk", "zh": "高流失风险客户"},
    "sec_management": {
        "en": "Management level and account-manager scorecards",
        "zh": "客户管理水平与客户经理评分",
    },
    "sec_indices": {"en": "Loyalty and value indices", "zh": "忠诚度指数与价值指数"},
    "sec_engagement": {"en": "Engagement", "zh": "客户参与度"},
    "sec_referral": {"en": "Referral and word of mouth", "zh": "推荐与口碑"},
    "sec_benchmarks": {"en": "Industry benchmarks", "zh": "行业基准对比"},
    "sec_costs": {"en": "Acquisition versus retention cost", "zh": "获客成本与保留成本"},
    "sec_extra_revenue": {"en": "Extra revenue from loyalty", "zh": "忠诚度带来的额外收入"},
    "base_kpis": {
        "en": "Customer base: {n} customers active at the end of {period}, the latest complete "
        "quarter.",
        "zh": "客户基数:{period}(最近一个完整季度)末的 {n} 位活跃客户。",
    },
    "base_equity": {
        "en": "Customer base: the {n} customers valued at {as_of} (every customer the CLV "
        "models score, churned customers included).",
        "zh": "客户基数:截至 {as_of} 估值的 {n} 位客户(客户终身价值模型评估的全部客户,"
        "含已流失客户)。",
    },
    "base_concentration": {
        "en": "Customer base: the {n} customers with revenue in the 12 months to the as-of "
        "date, of {customers} customers.",
        "zh": "客户基数:截至报告日期 12 个月内有收入的 {n} 位客户(共 {customers} 位客户)。",
    },
    "base_segments": {
        "en": "Customer base: the {n} customers active at {as_of} (churned customers are left "
        "out).",
        "zh": "客户基数:截至 {as_of} 的 {n} 位活跃客户(已流失客户不计入)。",
    },
    "nps_small_sample": {
        "en": "n: respondents. * Fewer than {n} respondents: a small sample, read with care.",
        "zh": "n:受访人数。* 受访人数少于 {n}:样本较小,请谨慎解读。",
    },
    "sec_appendix": {"en": "Technical appendix", "zh": "技术附录"},
    "appendix_models": {
        "en": "The fitted parameters of the chosen CLV models, for the analyst who checks the "
        "valuation: BG/NBD or Pareto/NBD for repeat purchases, Gamma-Gamma for spend per "
        "order, shifted-beta-geometric (sBG) for contract renewals, by product line.",
        "zh": "所选客户终身价值模型的拟合参数,供核查估值的分析人员参考:BG/NBD 或 Pareto/NBD "
        "用于复购,Gamma-Gamma 用于单笔消费额,移位贝塔几何(sBG)模型按产品线用于合同续约。",
    },
    "appendix_loose": {
        "en": "Poorly identified (standard error larger than the estimate): {fits}. Their "
        "values rest on few renewals; read them with care.",
        "zh": "识别不足(标准误大于估计值):{fits}。其数值依据的续约很少,请谨慎解读。",
    },
    "clv_models_in_appendix": {
        "en": "The fitted parameters of the CLV models are in the technical appendix.",
        "zh": "客户终身价值模型的拟合参数见技术附录。",
    },
    "base_indicator": {
        "en": "Customer base: {n} customers ({code}'s n) in {period}, the latest complete quarter.",
        "zh": "客户基数:{period}(最近一个完整季度)的 {n} 位客户({code} 的 n)。",
    },
    "base_costs": {
        "en": "Customer base: {acquired} customers acquired and {retained} customers retained "
        "in {period}.",
        "zh": "客户基数:{period} 新获取 {acquired} 位客户,保留 {retained} 位客户。",
    },
    "base_management": {
        "en": "Customer base: {n} customers of the company in the current window ({start} to "
        "{end}).",
        "zh": "客户基数:当前窗口({start} 至 {end})内公司的 {n} 位客户。",
    },
    "base_indices": {
        "en": "Customer base: {n} customers scored at {as_of}.",
        "zh": "客户基数:截至 {as_of} 已评分的 {n} 位客户。",
    },
    "base_benchmarks": {
        "en": "Customer base: up to {n} customers in {period}; benchmark values are "
        "industry figures.",
        "zh": "客户基数:{period} 最多 {n} 位客户;基准值为行业数据。",
    },
    "base_extra_revenue": {
        "en": "Customer base: {n} customers with revenue from {start} to {end}, {top} of them "
        "in the {band} loyalty band.",
        "zh": "客户基数:{start} 至 {end} 有收入的 {n} 位客户,其中 {top} 位属于忠诚度{band}档。",
    },
    "referral_activity": {
        "en": "In the 12 months to the as-of date: {referrals} referrals by {referrers} "
        "customers, {converted} converted; {reviews} reviews by {reviewers} customers, "
        "{positive} positive.",
        "zh": "截至报告日期的 12 个月内:{referrers} 位客户推荐 {referrals} 次,成交 {converted} 次;"
        "{reviewers} 位客户发表评价 {reviews} 条,正面占 {positive}。",
    },
    "indicator": {"en": "Indicator", "zh": "指标"},
    "value": {"en": "Value", "zh": "数值"},
    "change_on_quarter": {"en": "Change on the quarter before", "zh": "环比变化"},
    "change_on_window": {"en": "Change on the previous window", "zh": "较上一窗口变化"},
    "vs_previous_window": {"en": "on the previous window", "zh": "较上一窗口"},
    "cost_cac": {"en": "Acquisition cost per new customer", "zh": "单位获客成本"},
    "cost_retention": {"en": "Retention cost per retained customer", "zh": "单位保留成本"},
    "cost_ratio": {"en": "Acquisition ÷ retention", "zh": "获客成本 ÷ 保留成本"},
    "new_customers": {"en": "New customers", "zh": "新客户数"},
    "management_level": {"en": "Management level", "zh": "客户管理水平"},
    "unit": {"en": "Unit", "zh": "单位"},
    "customers": {"en": "Customers", "zh": "客户数"},
    "col_satisfaction": {"en": "Satisfaction", "zh": "满意度"},
    "col_loyalty_index": {"en": "Loyalty index", "zh": "忠诚度指数"},
    "col_complaints": {"en": "Complaints per customer", "zh": "人均投诉"},
    "col_churn": {"en": "Churn rate", "zh": "流失率"},
    "col_engagement": {"en": "Engagement", "zh": "参与度"},
    "band": {"en": "Band", "zh": "档位"},
    "sub_teams": {"en": "Teams", "zh": "团队"},
    "sub_managers": {"en": "Account managers", "zh": "客户经理"},
    "index": {"en": "Index", "zh": "指数"},
    "index_loyalty": {"en": "H1 Loyalty index", "zh": "H1 客户忠诚度指数"},
    "index_value": {"en": "H2 Customer value index", "zh": "H2 客户价值指数"},
    "customers_scored": {"en": "Customers scored", "zh": "已评分客户"},
    "mean_now": {"en": "Mean now", "zh": "当前均值"},
    "mean_previous": {"en": "Mean, previous window", "zh": "上一窗口均值"},
    "mean_now_same": {
        "en": "Mean now, same customers",
        "zh": "当前均值(同一批客户)",
    },
    "trend_counts": {"en": "Up / flat / down", "zh": "上升 / 持平 / 下降"},
    "band_counts": {"en": "Green / yellow / red", "zh": "绿 / 黄 / 红"},
    "sub_drivers": {"en": "Drivers: the weights applied", "zh": "驱动因素:所用权重"},
    "weight": {"en": "Weight", "zh": "权重"},
    "weighting_method": {"en": "Weighting method", "zh": "赋权方法"},
    "industry": {"en": "Industry", "zh": "行业"},
    "ours": {"en": "Ours", "zh": "本公司"},
    "benchmark": {"en": "Benchmark", "zh": "基准"},
    "comparison": {"en": "Comparison", "zh": "比较"},
    "benchmark_example": {
        "en": "Some benchmark values are examples shipped with the project, not a published "
        "survey: replace them in the industry_benchmarks seed before quoting them.",
        "zh": "部分基准值为项目自带的示例,并非公开调查数据:引用前请在 industry_benchmarks "
        "种子表中替换。",
    },
    "measure": {"en": "Measure", "zh": "项目"},
    "amount": {"en": "Amount", "zh": "金额"},
    "xr_base_average_revenue_cny": {
        "en": "Average revenue per customer, all customers",
        "zh": "全部客户的人均收入",
    },
    "xr_top_average_revenue_cny": {
        "en": "Average revenue per customer, top loyalty band",
        "zh": "最高忠诚度档客户的人均收入",
    },
    "xr_extra_per_customer_cny": {
        "en": "Extra revenue per top-band customer",
        "zh": "最高档每位客户的额外收入",
    },
    "xr_extra_revenue_cny": {
        "en": "Extra revenue from the top loyalty band",
        "zh": "最高忠诚度档带来的额外收入",
    },
    # sub-headings
    "sub_churn_reasons": {"en": "Churn reasons", "zh": "流失原因"},
    "sub_equity": {"en": "Customer equity", "zh": "客户资源价值"},
    "sub_clv_distribution": {"en": "CLV distribution", "zh": "客户终身价值分布"},
    "sub_clv_models": {"en": "CLV models", "zh": "客户终身价值模型"},
    "sub_survey_rates": {"en": "Satisfaction rate and response rate", "zh": "满意率与回复率"},
    "sub_complaint_categories": {"en": "Complaint categories", "zh": "投诉类别"},
    "sub_nps_by_industry": {"en": "NPS by industry", "zh": "各行业净推荐值"},
    # KPI cards
    "kpi_active": {"en": "Active customers", "zh": "活跃客户数"},
    "kpi_top_share": {"en": "Top-{n} customers' revenue share", "zh": "前{n}大客户收入占比"},
    "kpi_equity": {"en": "Customer equity (gross margin)", "zh": "客户资源价值(毛利)"},
    "kpi_vs": {"en": "vs {period}", "zh": "较{period}"},
    "pp": {"en": "pp", "zh": "个百分点"},
    "points": {"en": "pts", "zh": "分"},
    # chart and table words
    "period": {"en": "Period", "zh": "期间"},
    "previous": {"en": "Previous", "zh": "上期"},
    "change": {"en": "Change", "zh": "变化"},
    "respondents": {"en": "n", "zh": "样本数"},
    "dimension": {"en": "Dimension", "zh": "维度"},
    "score_pct": {"en": "Score (% of scale maximum)", "zh": "得分(占量表满分%)"},
    "rate": {"en": "Rate", "zh": "比率"},
    "customers_at_start": {"en": "At start (S)", "zh": "期初(S)"},
    "customers_new": {"en": "New (N)", "zh": "新增(N)"},
    "customers_lost": {"en": "Lost", "zh": "流失"},
    "customers_at_end": {"en": "At end (E)", "zh": "期末(E)"},
    "customers_won_back": {"en": "Won back", "zh": "挽回"},
    "retention_rate": {"en": "Retention (E−N−W)/S", "zh": "留存率(E−N−W)/S"},
    "retention_seed_002": {
        "en": "Retention (E−N−W)/E, over customers at the end",
        "zh": "留存率(E−N−W)/E,以期末客户为分母",
    },
    "churn_rate": {"en": "Churn rate", "zh": "流失率"},
    "reason": {"en": "Reason", "zh": "原因"},
    "share": {"en": "Share", "zh": "占比"},
    "lost_revenue": {"en": "Lost revenue", "zh": "流失收入"},
    "churn_cost": {"en": "Churn cost (B6), {period}", "zh": "客户流失成本(B6),{period}"},
    "cohort": {"en": "Cohort", "zh": "同期群"},
    "cohort_size": {"en": "Size", "zh": "规模"},
    "periods_since": {"en": "Quarters since acquisition", "zh": "获客后季度数"},
    "after_k": {"en": "After {k}", "zh": "第{k}期"},
    "share_active": {"en": "Share still active", "zh": "仍活跃占比"},
    "nps": {"en": "NPS", "zh": "NPS"},
    "recommendation_index": {"en": "Recommendation index", "zh": "推荐指数"},
    "complaint_rate": {"en": "Complaints per customer", "zh": "每客户投诉数"},
    "resolution_rate": {"en": "Resolved (%)", "zh": "解决率(%)"},
    "handling_median": {"en": "Handling time, median", "zh": "处理时长中位数"},
    "handling_p90": {"en": "Handling time, p90", "zh": "处理时长P90"},
    "complaints": {"en": "Complaints", "zh": "投诉数"},
    "clv": {"en": "CLV", "zh": "客户终身价值"},
    "clv_axis": {"en": "CLV per customer (CNY)", "zh": "单客户终身价值(元)"},
    "clv_clipped": {
        "en": "{n} customers above the 99th percentile ({value}) are drawn in the last bin.",
        "zh": "高于第99百分位({value})的{n}位客户计入最后一组。",
    },
    "clv_summary": {
        "en": "{n} customers valued; median CLV {median}, mean {mean}.",
        "zh": "共评估{n}位客户;客户终身价值中位数{median},均值{mean}。",
    },
    "equity": {"en": "Equity", "zh": "客户资源价值"},
    "interval": {"en": "Interval", "zh": "区间"},
    "equity_total": {
        "en": "Customer equity on gross margin {value} (interval {lower} – {upper}) over {n} "
        "customers.",
        "zh": "按毛利计的客户资源价值{value}(区间{lower}–{upper}),覆盖{n}位客户。",
    },
    "equity_tie_out": {
        "en": "Tie-out: {equity} is the gross margin today's customers are expected to bring "
        "over the next {months} months, discounted at {rate} a year (contract and order parts "
        "over the same horizon; invoices that bill a contract counted once, in the contract "
        "part). Against the trailing 12 months (the 365 days to the report date: margin "
        "{margin} on revenue {revenue}) it is {x_margin}× margin and {x_revenue}× revenue. "
        "On revenue, before the cost of delivering it, the same customers would be worth "
        "{equity_revenue}: not a value.",
        "zh": "核对:{equity}是现有客户未来{months}个月预计带来的毛利,按年{rate}折现"
        "(合同与订单两部分采用相同期限;合同开票的订单只计入合同部分)。与过去12个月"
        "(截至报告日的365天:毛利{margin},收入{revenue})相比,为毛利的{x_margin}倍、"
        "收入的{x_revenue}倍。若按收入(未扣除交付成本)计,同一批客户为{equity_revenue},"
        "并非价值。",
    },
    "equity_interval_note": {
        "en": "The interval {lower} – {upper} covers the uncertainty of the estimated model "
        "parameters only (bootstrap), not the customers' own randomness nor the choice of "
        "margin, rate, horizon or model: analytics.customer_equity_sensitivity shows those. "
        "Observed customer retention in the trailing year: {observed}.",
        "zh": "区间{lower}–{upper}仅反映模型参数估计的不确定性(自助法),不含客户自身行为的"
        "随机性,也不含毛利率、折现率、期限或模型选择的影响:见"
        "analytics.customer_equity_sensitivity。过去一年实际客户留存率:{observed}。",
    },
    "part": {"en": "Part", "zh": "部分"},
    "part_contract": {"en": "Contracts (sBG)", "zh": "合同(sBG)"},
    "part_transactional": {"en": "Orders (purchase model)", "zh": "订单(购买模型)"},
    "part_total": {"en": "Total", "zh": "合计"},
    "t12m_revenue": {"en": "Revenue, trailing 12 months", "zh": "近12个月收入"},
    "t12m_margin": {"en": "Margin, trailing 12 months", "zh": "近12个月毛利"},
    "equity_margin": {"en": "Equity (margin)", "zh": "客户资源价值(毛利)"},
    "multiple_margin": {"en": "× margin", "zh": "毛利倍数"},
    "retention_model_observed": {
        "en": "Retention: model (parts), observed revenue (total)",
        "zh": "留存:模型隐含(分部)、实际收入留存(合计)",
    },
    "slice": {"en": "Slice", "zh": "维度"},
    "top_share": {"en": "Top-{n} share of revenue", "zh": "前{n}大客户收入占比"},
    "top_decile_share": {"en": "Top-10 % customers' share of revenue", "zh": "前10%客户收入占比"},
    "herfindahl": {"en": "Herfindahl index", "zh": "赫芬达尔指数"},
    "gini": {"en": "Gini coefficient", "zh": "基尼系数"},
    "equivalent_customers": {"en": "Equivalent number of equal customers", "zh": "等效客户数"},
    "customers_with_revenue": {"en": "Customers with revenue", "zh": "有收入的客户数"},
    "revenue_total": {"en": "Net revenue, last 12 months", "zh": "近12个月净收入"},
    "lorenz_x": {"en": "Share of customers (smallest first)", "zh": "客户累计占比(由小到大)"},
    "lorenz_y": {"en": "Share of revenue", "zh": "收入累计占比"},
    "lorenz_title": {
        "en": "Lorenz curve of net revenue, last 12 months",
        "zh": "近12个月净收入洛伦兹曲线",
    },
    "equality": {"en": "Equal shares", "zh": "完全均等"},
    "value_axis": {"en": "Value", "zh": "价值"},
    "loyalty_axis": {"en": "Loyalty", "zh": "忠诚度"},
    "level_high": {"en": "high", "zh": "高"},
    "level_medium": {"en": "medium", "zh": "中"},
    "level_mid": {"en": "medium", "zh": "中"},
    "level_low": {"en": "low", "zh": "低"},
    "segment": {"en": "Segment", "zh": "客户分群"},
    "action": {"en": "Action", "zh": "建议行动"},
    "unsegmented": {
        "en": "{n} customers could not be placed (a missing input).",
        "zh": "{n}位客户因数据缺失未能分群。",
    },
    "rank": {"en": "#", "zh": "序号"},
    "customer_id": {"en": "Customer ID", "zh": "客户编号"},
    "risk": {"en": "Risk", "zh": "风险"},
    "value_cny": {"en": "Value at stake", "zh": "涉及价值"},
    "value_at_risk_cny": {"en": "Expected loss", "zh": "预期损失"},
    "reasons": {"en": "Signals", "zh": "预警信号"},
    "at_risk_summary": {
        "en": "{n} customers scored; {high} with a risk of {threshold} or more, "
        "holding {value} of value. Expected loss (risk × value) of the customers still "
        "active: {at_risk}. The {top} largest expected losses:",
        "zh": "共评分{n}位客户;风险不低于{threshold}的客户{high}位,涉及价值{value}。"
        "仍活跃客户的预期损失(风险×价值)合计{at_risk}。预期损失最大的{top}位:",
    },
    "at_risk_lost": {
        "en": "Reported apart: {n} customers, holding {value} of value, whom the activity "
        "rule counts as lost by the end of this month unless they order or sign again "
        "(win-back cases, not early warnings). The {top} most valuable:",
        "zh": "另列:{n}位客户(涉及价值{value})若本月底前无新订单或合同,按活跃规则即视为"
        "流失(属挽回对象,而非预警对象)。价值最高的{top}位:",
    },
    # due diligence
    "dd_intro": {
        "en": "What a buyer should look at in the customer base when the firm is sold, "
        "with the figure from this warehouse.",
        "zh": "企业转让时收购方应重点审查的客户群要点,并附本数据仓库中的对应数据。",
    },
    "dd_question": {"en": "Question", "zh": "审查要点"},
    "dd_evidence": {"en": "Evidence", "zh": "数据"},
    "dd_why": {"en": "Why it matters", "zh": "关注原因"},
    "dd_retention_q": {"en": "Do customers stay?", "zh": "客户是否留得住?"},
    "dd_retention_e": {
        "en": "Customer retention {retention} and churn {churn} in {period}, the last complete "
        "year (the year before: {previous}).",
        "zh": "最近完整年度{period}客户留存率{retention},流失率{churn}"
        "(再上一年留存率:{previous})。",
    },
    "dd_trailing_e": {
        "en": "In the 12 months to {end}: gross revenue retention {grr}, net revenue retention "
        "{nrr} (revenue of the customers of the year before: {start_revenue}; of all customers "
        "now: {end_revenue}); {kept} of the {buyers} customers who bought in the year before "
        "bought again ({kept_rate}).",
        "zh": "截至{end}的近12个月:收入总留存率{grr},收入净留存率{nrr}"
        "(上一年客户收入{start_revenue};当前全部客户收入{end_revenue});"
        "上一年有购买的{buyers}位客户中{kept}位再次购买({kept_rate})。",
    },
    "dd_retention_w": {
        "en": "The value of the business rests on customers who renew after the sale.",
        "zh": "企业价值取决于转让后客户是否继续合作。",
    },
    "dd_cohort_q": {
        "en": "Do newer customers hold as well as older ones?",
        "zh": "新客户的留存是否与老客户一样好?",
    },
    "dd_cohort_e": {
        "en": "Share still active {k} quarters after acquisition: {latest} for cohort "
        "{latest_label}, {earliest} for cohort {earliest_label}.",
        "zh": "获客{k}个季度后仍活跃的比例:{latest_label}同期群{latest},"
        "{earliest_label}同期群{earliest}。",
    },
    "dd_cohort_w": {
        "en": "Falling cohort curves show a weakening offer that headline retention hides.",
        "zh": "同期群曲线下滑说明竞争力减弱,而总体留存率可能掩盖这一点。",
    },
    "dd_reasons_q": {"en": "Why do customers leave?", "zh": "客户为何流失?"},
    "dd_reasons_e": {
        "en": "Most frequent reason in {period}: {reason} ({share} of customers lost).",
        "zh": "{period}最主要的流失原因:{reason}(占流失客户{share})。",
    },
    "dd_reasons_unrecorded": {
        "en": " No reason is recorded for {share} of them.",
        "zh": "另有{share}的流失客户未记录原因。",
    },
    "dd_reasons_w": {
        "en": "Price and competitor losses point to the market; service and quality "
        "losses to the firm itself.",
        "zh": "因价格或竞争对手流失反映市场压力;因服务或质量流失反映企业自身问题。",
    },
    "dd_concentration_q": {
        "en": "How much revenue hangs on a few customers?",
        "zh": "收入是否集中于少数客户?",
    },
    "dd_concentration_e": {
        "en": "Top {n} customers: {share} of the last 12 months' net revenue; "
        "Herfindahl index {hhi} (as many as {equivalent} equal customers).",
        "zh": "前{n}大客户占近12个月净收入{share};"
        "赫芬达尔指数{hhi}(相当于{equivalent}个同等规模客户)。",
    },
    "dd_concentration_w": {
        "en": "A few large customers leaving with the former owner is the classic deal risk.",
        "zh": "大客户随原股东或团队离开是最常见的交易风险。",
    },
    "dd_equity_q": {"en": "What is the customer base worth?", "zh": "客户资源价值多少?"},
    "dd_equity_e": {
        "en": "Customer equity on gross margin {value} (interval {lower} – {upper}, parameter "
        "uncertainty only).",
        "zh": "按毛利计的客户资源价值{value}(区间{lower}–{upper},仅含参数不确定性)。",
    },
    "dd_equity_multiple": {
        "en": "{x_margin}× trailing-12-month margin, {x_revenue}× trailing-12-month revenue.",
        "zh": "为近12个月毛利的{x_margin}倍、近12个月收入的{x_revenue}倍。",
    },
    "dd_equity_w": {
        "en": "The sum of expected future margins of today's customers: the basis of a price.",
        "zh": "现有客户未来预期利润之和,是估值的基础。",
    },
    "dd_satisfaction_q": {
        "en": "Are customers satisfied, and would they recommend the firm?",
        "zh": "客户是否满意,是否愿意推荐?",
    },
    "dd_satisfaction_e": {
        "en": "Satisfaction {satisfaction} ({satisfaction_period}); NPS {nps} ({nps_period}).",
        "zh": "满意度{satisfaction}({satisfaction_period});净推荐值{nps}({nps_period})。",
    },
    "dd_satisfaction_w": {
        "en": "Attitudes move before behaviour: falling satisfaction precedes churn.",
        "zh": "态度先于行为变化:满意度下降往往先于客户流失。",
    },
    "dd_complaints_q": {"en": "Are complaints resolved?", "zh": "投诉是否得到解决?"},
    "dd_complaints_trailing_e": {
        "en": "{complaints} complaints opened in the 12 months to {end}, {resolved} of them "
        "resolved by then; {rate} per customer active now.",
        "zh": "截至{end}的近12个月新增投诉{complaints}起,其中{resolved}已解决;"
        "按当前活跃客户计每客户{rate}起。",
    },
    "dd_trailing_period": {
        "en": "the 12 months to {end}",
        "zh": "截至{end}的近12个月",
    },
    "dd_complaints_e": {
        "en": "{resolved} of complaints resolved in {period}; {rate} complaints per customer.",
        "zh": "{period}投诉解决率{resolved};每客户投诉{rate}次。",
    },
    "dd_complaints_w": {
        "en": "Unresolved complaints are the strongest early sign of a departure.",
        "zh": "未解决的投诉是客户流失最明显的前兆。",
    },
    "dd_at_risk_q": {"en": "Who is about to leave?", "zh": "哪些客户可能流失?"},
    "dd_at_risk_e": {
        "en": "{high} customers with a risk of {threshold} or more, holding {value} of value; "
        "expected loss (risk × value) {expected}; {lost} customers already lapsing by the "
        "activity rule ({lost_value}) are listed apart.",
        "zh": "风险不低于{threshold}的客户{high}位,涉及价值{value};预期损失(风险×价值){expected};"
        "按活跃规则已在流失的客户{lost}位({lost_value})另行列出。",
    },
    "dd_at_risk_w": {
        "en": "A buyer prices these customers at risk and asks for a retention plan.",
        "zh": "收购方会对这些客户打折估值,并要求制定挽留计划。",
    },
    "dd_segments_q": {
        "en": "Is the value in loyal customers?",
        "zh": "价值是否集中在忠诚客户?",
    },
    "dd_segments_e": {
        "en": "{core}: {core_share} of customers; {wavering}: {wavering_share}.",
        "zh": "{core}:占客户{core_share};{wavering}:占客户{wavering_share}。",
    },
    "dd_segments_w": {
        "en": "High-value customers with low loyalty are the ones to secure before closing.",
        "zh": "高价值低忠诚客户应在交割前重点稳固。",
    },
    "dd_unavailable": {"en": "not available: {what}", "zh": "无数据:{what}"},
}

# Codes the marts carry, in both languages. Unknown codes are printed as they are.
LABELS: dict[str, dict[str, str]] = {
    "accounting": {"en": "accounting", "zh": "会计"},
    "automation": {"en": "automation", "zh": "自动化"},
    "consulting": {"en": "consulting", "zh": "咨询"},
    "design": {"en": "design", "zh": "设计"},
    "maintenance": {"en": "maintenance", "zh": "维护"},
    "software": {"en": "software", "zh": "软件"},
    "system_integration": {"en": "system integration", "zh": "系统集成"},
    "training": {"en": "training", "zh": "培训"},
    "green": {"en": "green", "zh": "绿"},
    "yellow": {"en": "yellow", "zh": "黄"},
    "red": {"en": "red", "zh": "红"},
    "better": {"en": "better", "zh": "优于基准"},
    "worse": {"en": "worse", "zh": "差于基准"},
    "equal": {"en": "equal", "zh": "持平"},
    "expert": {"en": "expert weights", "zh": "专家赋权"},
    "entropy": {"en": "entropy weights", "zh": "熵权法"},
    "critic": {"en": "CRITIC weights", "zh": "CRITIC 赋权"},
    "ahp": {"en": "AHP weights", "zh": "层次分析法"},
    "feedback_customers": {"en": "customers giving feedback", "zh": "提供反馈的客户"},
    "suggestion_adoption": {"en": "suggestions adopted", "zh": "建议采纳率"},
    "days_since_last_touch": {"en": "days since last contact", "zh": "距上次联系天数"},
    "enrolled": {"en": "enrolled", "zh": "已加入"},
    "lift": {"en": "lift over non-attendees", "zh": "相对未参加者的提升"},
    "any_referral": {"en": "customers referring", "zh": "有推荐的客户"},
    "converted_referrals": {"en": "converted referrals", "zh": "成交的推荐"},
    "referral_conversion_rate": {"en": "conversion rate", "zh": "推荐成交率"},
    "positive": {"en": "positive reviews", "zh": "正面评价"},
    "neutral": {"en": "neutral reviews", "zh": "中性评价"},
    "negative": {"en": "negative reviews", "zh": "负面评价"},
    "net_sentiment": {"en": "net sentiment", "zh": "净情感"},
    "it_system_integration": {"en": "IT system integration", "zh": "IT 系统集成"},
    "engineering_design": {"en": "engineering design", "zh": "工程设计"},
    "accounting_services": {"en": "accounting services", "zh": "会计服务"},
    "team": {"en": "team", "zh": "团队"},
    # satisfaction and brand dimensions (A1, E5)
    "overall_satisfaction": {"en": "Overall satisfaction", "zh": "总体满意度"},
    "service_quality": {"en": "Service quality", "zh": "服务质量"},
    "service_efficiency": {"en": "Service efficiency", "zh": "服务效率"},
    "professional_competence": {"en": "Professional competence", "zh": "专业能力"},
    "communication": {"en": "Communication", "zh": "沟通质量"},
    "price_reasonableness": {"en": "Price reasonableness", "zh": "价格合理性"},
    "after_sales": {"en": "After-sales service", "zh": "售后服务"},
    "customisation": {"en": "Customisation", "zh": "定制化服务"},
    "brand_image": {"en": "Brand image", "zh": "品牌形象"},
    "awareness": {"en": "Awareness", "zh": "品牌认知度"},
    "emotional_connection": {"en": "Emotional connection", "zh": "情感连接"},
    "switching_cost": {"en": "Switching cost", "zh": "转换成本"},
    # A3 variants
    "response_based": {"en": "Satisfied / respondents", "zh": "满意客户/受访客户"},
    "response_rate": {"en": "Response rate", "zh": "回复率"},
    "seed_002": {"en": "Satisfied / all active customers", "zh": "满意客户/全部活跃客户"},
    # churn reasons (B5)
    "price": {"en": "Price", "zh": "价格"},
    "service": {"en": "Service", "zh": "服务"},
    "quality": {"en": "Quality", "zh": "质量"},
    "competitor": {"en": "Competitor", "zh": "竞争对手"},
    "business_closed": {"en": "Business closed", "zh": "客户停业"},
    "other": {"en": "Other", "zh": "其他"},
    "unrecorded": {"en": "Not recorded", "zh": "未记录"},
    # complaint categories (D5)
    "billing": {"en": "Billing", "zh": "账单"},
    "delivery": {"en": "Delivery", "zh": "交付"},
    "response_speed": {"en": "Response speed", "zh": "响应速度"},
    "service_attitude": {"en": "Service attitude", "zh": "服务态度"},
    # early-warning signals (H4)
    "purchase_frequency_falling": {"en": "Buying less often", "zh": "购买频率下降"},
    "frequency_falling": {"en": "Buying less often", "zh": "购买频率下降"},
    "spend_falling": {"en": "Spending less", "zh": "消费金额下降"},
    "complaints_rising": {"en": "More complaints", "zh": "投诉增加"},
    "open_complaints": {"en": "Open complaints", "zh": "存在未解决投诉"},
    "satisfaction_falling": {"en": "Satisfaction falling", "zh": "满意度下降"},
    "low_satisfaction": {"en": "Low satisfaction", "zh": "满意度低"},
    "detractor": {"en": "NPS detractor", "zh": "NPS贬损者"},
    "low_p_alive": {"en": "Low probability still active", "zh": "存活概率低"},
    "p_alive_low": {"en": "Low probability still active", "zh": "存活概率低"},
    "no_recent_touch": {"en": "No contact for long", "zh": "长期未联系"},
    "no_touch": {"en": "No contact for long", "zh": "长期未联系"},
    "manager_changed": {"en": "Account manager changed", "zh": "客户经理变更"},
    "contract_ending": {"en": "Contract ending", "zh": "合同即将到期"},
    # CLV model fit columns
    "model": {"en": "Model", "zh": "模型"},
    "cohort": {"en": "Cohort", "zh": "同期群"},
    "parameter": {"en": "Parameter", "zh": "参数"},
    "estimate": {"en": "Estimate", "zh": "估计值"},
    "std_error": {"en": "Std. error", "zh": "标准误"},
    "log_likelihood": {"en": "Log-likelihood", "zh": "对数似然"},
    "n": {"en": "n", "zh": "样本数"},
    # slice types and values
    "company": {"en": "company", "zh": "全公司"},
    "industry": {"en": "by industry", "zh": "按行业"},
    "region": {"en": "by region", "zh": "按地区"},
    "size_band": {"en": "by size band", "zh": "按规模"},
    "account_manager": {"en": "by account manager", "zh": "按客户经理"},
    "all": {"en": "All customers", "zh": "全部客户"},
    "manufacturing": {"en": "Manufacturing", "zh": "制造业"},
    "logistics": {"en": "Logistics", "zh": "物流"},
    "energy": {"en": "Energy", "zh": "能源"},
    "food": {"en": "Food", "zh": "食品"},
    "public_sector": {"en": "Public sector", "zh": "公共部门"},
    "pharma": {"en": "Pharma", "zh": "医药"},
    "construction": {"en": "Construction", "zh": "建筑"},
    "electronics": {"en": "Electronics", "zh": "电子"},
    "automotive": {"en": "Automotive", "zh": "汽车"},
    "retail": {"en": "Retail", "zh": "零售"},
    "education": {"en": "Education", "zh": "教育"},
    "finance": {"en": "Finance", "zh": "金融"},
    "unattributed": {"en": "Unattributed", "zh": "未归属"},
}


def check_language(language: str) -> str:
    """The language code, refused clearly when it is not one the report speaks."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return language


def text(key: str, language: str, **values: object) -> str:
    """The string `key` in `language`, with `{placeholders}` filled from `values`."""
    template = STRINGS[key][language]
    return template.format(**values) if values else template


def label(code: object, language: str) -> str:
    """A mart code in words (`after_sales` → 售后服务); unknown codes unchanged."""
    code = "" if code is None else str(code)
    entry = LABELS.get(code)
    return entry[language] if entry else code


def reason_label(reason: object, language: str) -> str:
    """A churn signal in one language: a known code in words; the early-warning list's
    "English / 中文" form split at " / " (the part of `language`); anything else unchanged."""
    reason = "" if reason is None else str(reason)
    if reason in LABELS:
        return label(reason, language)
    english, separator, chinese = reason.partition(" / ")
    if not separator:
        return reason
    return chinese if language == "zh" else english


def _missing(value: object) -> bool:
    """None, NaN, or pandas' NA (a null of a nullable integer column)."""
    if value is None or type(value).__name__ == "NAType":
        return True
    return isinstance(value, float) and math.isnan(value)


def fmt_count(value: object, language: str) -> str:
    """Whole numbers with thousands separators (1,234); a fraction keeps one decimal."""
    if _missing(value):
        return MISSING
    number = float(value)  # type: ignore[arg-type]
    return f"{number:,.0f}" if number == round(number) else f"{number:,.1f}"


def fmt_rate(value: object, language: str) -> str:
    """A 0–1 fraction as a percentage with one decimal: 0.9532 → 95.3%."""
    return MISSING if _missing(value) else f"{float(value) * 100:.1f}%"  # type: ignore[arg-type]


def fmt_pct(value: object, language: str) -> str:
    """A 0–100 percentage with one decimal: 75.03 → 75.0%."""
    return MISSING if _missing(value) else f"{float(value):.1f}%"  # type: ignore[arg-type]


def fmt_nps(value: object, language: str) -> str:
    """NPS (−100 … 100) with its sign and one decimal: +23.2."""
    return MISSING if _missing(value) else f"{float(value):+.1f}"  # type: ignore[arg-type]


def fmt_ratio(value: object, language: str) -> str:
    """A ratio or a per-customer figure with two decimals."""
    return MISSING if _missing(value) else f"{float(value):,.2f}"  # type: ignore[arg-type]


def fmt_index(value: object, language: str) -> str:
    """A small index (Herfindahl) with four decimals."""
    return MISSING if _missing(value) else f"{float(value):.4f}"  # type: ignore[arg-type]


def fmt_hours(value: object, language: str) -> str:
    """A duration in hours with one decimal."""
    if _missing(value):
        return MISSING
    unit = "h" if language == "en" else "小时"
    return f"{float(value):,.1f} {unit}"  # type: ignore[arg-type]


def fmt_cny(value: object, language: str) -> str:
    """An amount in CNY, compact: English `CNY 918.40 m`, Chinese `9.18 亿元` / `4,130.06 万元`."""
    if _missing(value):
        return MISSING
    amount = float(value)  # type: ignore[arg-type]
    size = abs(amount)
    if language == "zh":
        if size >= 1e8:
            return f"{amount / 1e8:,.2f} 亿元"
        if size >= 1e4:
            return f"{amount / 1e4:,.2f} 万元"
        return f"{amount:,.0f} 元"
    if size >= 1e9:
        return f"CNY {amount / 1e9:,.2f} bn"
    if size >= 1e6:
        return f"CNY {amount / 1e6:,.2f} m"
    return f"CNY {amount:,.0f}"


# Scales of an amount in CNY, largest first: (divisor, Chinese unit, English unit).
CNY_SCALES = ((1e8, "亿元", "CNY bn"), (1e4, "万元", "CNY m"), (1.0, "元", "CNY"))


def cny_scale(values: object, language: str) -> float:
    """One divisor for every amount of a table, picked from its largest absolute value (so
    a table never mixes 万元 and 亿元): Chinese 亿元 from 1亿, 万元 from 1万; English bn from
    1e9, m from 1e6; otherwise plain yuan."""
    sizes = [abs(float(v)) for v in values if not _missing(v)]  # type: ignore[union-attr]
    largest = max(sizes, default=0.0)
    if language == "zh":
        return 1e8 if largest >= 1e8 else 1e4 if largest >= 1e4 else 1.0
    return 1e9 if largest >= 1e9 else 1e6 if largest >= 1e6 else 1.0


def cny_unit_text(scale: float, language: str) -> str:
    """The unit a table's heading names for `scale`: 亿元 / 万元 / 元, CNY bn / CNY m / CNY."""
    if language == "zh":
        return {1e8: "亿元", 1e4: "万元"}.get(scale, "元")
    return {1e9: "CNY bn", 1e6: "CNY m"}.get(scale, "CNY")


def fmt_cny_scaled(value: object, scale: float, language: str) -> str:
    """An amount in a table's unit (`cny_scale`), the unit left to the heading: two decimals
    when scaled (three below 1), whole yuan otherwise."""
    if _missing(value):
        return MISSING
    amount = float(value) / scale  # type: ignore[arg-type]
    if scale == 1.0:
        return f"{amount:,.0f}"
    return f"{amount:,.3f}" if abs(amount) < 1 else f"{amount:,.2f}"


FORMATS = {
    "rate": fmt_rate,
    "pct": fmt_pct,
    "nps": fmt_nps,
    "ratio": fmt_ratio,
    "per_customer": fmt_ratio,
    "score": fmt_ratio,
    "count": fmt_count,
    "cny": fmt_cny,
    "hours": fmt_hours,
    "months": fmt_ratio,
    "weight": fmt_ratio,
}


def fmt_value(value: object, unit: str | None, language: str) -> str:
    """A mart value in the format of its unit (the `unit` column of loyalty_indicators)."""
    return FORMATS.get(unit or "", fmt_ratio)(value, language)


def fmt_change(change: object, unit: str | None, language: str) -> str:
    """The change between two periods: percentage points for rates and percentages,
    points for NPS, the unit's own format otherwise, always with a sign."""
    if _missing(change):
        return MISSING
    delta = float(change)  # type: ignore[arg-type]
    if unit == "rate":
        return f"{delta * 100:+.1f} {text('pp', language)}"
    if unit == "pct":
        return f"{delta:+.1f} {text('pp', language)}"
    if unit == "nps":
        return f"{delta:+.1f} {text('points', language)}"
    formatted = fmt_value(abs(delta), unit, language)
    return ("+" if delta >= 0 else "-") + formatted


def period_label(start: object, grain: str, language: str) -> str:
    """`2026-04-01` as `2026 Q2` / `2026年Q2`, `2026-04` for months, `2026` / `2026年` for
    years; grain `day` gives the date itself."""
    if _missing(start):
        return MISSING
    day = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start)[:10])
    if grain == "day":
        return f"{day.year}-{day.month:02d}-{day.day:02d}"
    if grain == "quarter":
        quarter = (day.month - 1) // 3 + 1
        return f"{day.year} Q{quarter}" if language == "en" else f"{day.year}年Q{quarter}"
    if grain == "year":
        return f"{day.year}" if language == "en" else f"{day.year}年"
    return f"{day.year}-{day.month:02d}"
