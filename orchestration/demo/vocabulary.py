"""Names and texts of the demo firm: provinces and cities, industries, company and
person names, notes, events and survey items."""

from __future__ import annotations

PROVINCES: dict[str, tuple[str, tuple[str, ...], float]] = {  # name: (region, cities, weight)
    "上海": ("east", ("上海",), 8),
    "江苏": ("east", ("苏州", "南京", "无锡", "常州", "南通"), 13),
    "浙江": ("east", ("杭州", "宁波", "温州", "嘉兴"), 10),
    "安徽": ("east", ("合肥", "芜湖"), 3),
    "福建": ("east", ("厦门", "福州", "泉州"), 4),
    "江西": ("east", ("南昌",), 1.5),
    "山东": ("east", ("青岛", "济南", "烟台", "潍坊"), 7),
    "北京": ("north", ("北京",), 6),
    "天津": ("north", ("天津",), 3),
    "河北": ("north", ("石家庄", "唐山", "保定"), 3),
    "山西": ("north", ("太原",), 1),
    "内蒙古": ("north", ("呼和浩特", "包头"), 0.8),
    "广东": ("south", ("深圳", "广州", "东莞", "佛山", "珠海"), 12),
    "广西": ("south", ("南宁", "柳州"), 1.5),
    "海南": ("south", ("海口",), 0.5),
    "河南": ("central", ("郑州", "洛阳"), 3.5),
    "湖北": ("central", ("武汉", "襄阳", "宜昌"), 4),
    "湖南": ("central", ("长沙", "株洲"), 3),
    "重庆": ("southwest", ("重庆",), 3),
    "四川": ("southwest", ("成都", "绵阳"), 4),
    "贵州": ("southwest", ("贵阳",), 1),
    "云南": ("southwest", ("昆明",), 1),
    "陕西": ("northwest", ("西安", "宝鸡"), 2.5),
    "甘肃": ("northwest", ("兰州",), 0.6),
    "宁夏": ("northwest", ("银川",), 0.3),
    "新疆": ("northwest", ("乌鲁木齐",), 0.6),
    "辽宁": ("northeast", ("沈阳", "大连"), 2.5),
    "吉林": ("northeast", ("长春",), 1.2),
    "黑龙江": ("northeast", ("哈尔滨",), 1.2),
}
REGION_NAMES_CN = {
    "east": "华东",
    "north": "华北",
    "south": "华南",
    "central": "华中",
    "southwest": "西南",
    "northwest": "西北",
    "northeast": "东北",
}
INDUSTRY_WEIGHTS = (20, 12, 12, 7, 7, 8, 7, 6, 5, 6, 6, 4)  # in INDUSTRIES order
INDUSTRY_WORDS = {  # industry: (word in the company name, word in the e-mail domain)
    "manufacturing": ("精密制造", "mfg"),
    "automotive": ("汽车部件", "auto"),
    "electronics": ("电子科技", "elec"),
    "pharma": ("医药", "pharma"),
    "food": ("食品", "food"),
    "logistics": ("物流", "logistics"),
    "energy": ("新能源", "energy"),
    "public_sector": ("公用事业", "gov"),
    "finance": ("金融服务", "fin"),
    "retail": ("商贸", "trade"),
    "construction": ("建设工程", "build"),
    "education": ("教育科技", "edu"),
}
SIZE_WEIGHTS = (15, 30, 30, 18, 7)
SIZE_CONTACTS = (0.2, 0.6, 1.0, 1.6, 2.2)  # mean extra contacts beyond the first, per size band
CHANNEL_WEIGHTS = (30, 15, 12, 18, 15, 10)  # in ACQUISITION_CHANNELS order
CHANNEL_COST_CNY = (18_000, 4_000, 9_000, 5_000, 11_000, 25_000)  # mean, for a micro firm
NAME_STEMS = (  # (characters, pinyin) of the brand part of a company name
    ("精工", "jinggong"),
    ("华信", "huaxin"),
    ("联创", "lianchuang"),
    ("恒通", "hengtong"),
    ("博远", "boyuan"),
    ("智达", "zhida"),
    ("新锐", "xinrui"),
    ("鼎盛", "dingsheng"),
    ("汇能", "huineng"),
    ("天成", "tiancheng"),
    ("中科", "zhongke"),
    ("宏图", "hongtu"),
    ("瑞丰", "ruifeng"),
    ("金桥", "jinqiao"),
    ("安泰", "antai"),
    ("德润", "derun"),
    ("永昌", "yongchang"),
    ("海纳", "haina"),
    ("启明", "qiming"),
    ("远景", "yuanjing"),
    ("凯达", "kaida"),
    ("正泰", "zhengtai"),
    ("同创", "tongchuang"),
    ("东方", "dongfang"),
    ("长城", "changcheng"),
    ("万达", "wanda"),
    ("嘉禾", "jiahe"),
    ("光明", "guangming"),
    ("力拓", "lituo"),
    ("九州", "jiuzhou"),
    ("锦程", "jincheng"),
    ("卓越", "zhuoyue"),
)
SURNAMES = (
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("胡", "hu"),
    ("朱", "zhu"),
    ("高", "gao"),
    ("林", "lin"),
    ("何", "he"),
    ("郭", "guo"),
    ("马", "ma"),
    ("罗", "luo"),
)
GIVEN_NAMES = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("磊", "lei"),
    ("强", "qiang"),
    ("洋", "yang"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("婷", "ting"),
    ("超", "chao"),
    ("明", "ming"),
    ("华", "hua"),
    ("丽", "li"),
    ("军", "jun"),
    ("勇", "yong"),
    ("涛", "tao"),
    ("建国", "jianguo"),
    ("晓东", "xiaodong"),
    ("海燕", "haiyan"),
    ("志强", "zhiqiang"),
    ("雪梅", "xuemei"),
    ("文博", "wenbo"),
    ("子涵", "zihan"),
    ("俊杰", "junjie"),
    ("秀英", "xiuying"),
    ("立新", "lixin"),
)
MOBILE_PREFIXES = tuple(
    str(x) for x in (*range(130, 140), 150, 151, 152, 155, 156, 158, 159, 166, 177, 180, 186, 199)
)
CHURN_NOTES = {
    "price": ("客户认为续费价格偏高", "预算削减，要求降价未果", "比价后选择更低报价"),
    "service": ("对服务响应速度不满意", "多次投诉服务态度问题", "项目经理更换频繁，沟通不畅"),
    "quality": ("交付质量问题未能解决", "系统故障反复出现", "验收多次未通过"),
    "competitor": ("转向竞争对手", "集团统一采购，改用其他供应商", "竞品提供整体解决方案"),
    "business_closed": ("客户业务调整或停业", "工厂搬迁，合作暂停", "企业被并购，业务整合"),
    "other": ("其他原因", "联系人离职后无人跟进", "客户未说明原因"),
}
# Complaint category -> churn reason it points to (service, quality or price trouble).
COMPLAINT_REASON = ("service", "service", "quality", "quality", "price", "price", "other")
EVENT_NAMES = {
    "training": "技术培训班",
    "salon": "行业沙龙",
    "launch": "新品发布会",
    "workshop": "用户研讨会",
    "trial": "产品试用日",
}
EVENT_TOPICS = ("智能制造", "数字化转型", "财税合规", "工业自动化", "设计创新", "设备运维")
EVENT_CITIES = ("上海", "北京", "深圳", "苏州", "杭州", "成都", "武汉", "广州")
SATISFACTION_ITEMS = (  # (dimension, question text, reverse coded, item mean on the latent scale)
    ("service_quality", "您对我们的服务质量是否满意？", False, 0.55),
    ("service_efficiency", "我们的服务响应速度是否令您满意？", False, 0.35),
    ("professional_competence", "您如何评价我们团队的专业能力？", False, 0.7),
    ("communication", "您对双方的沟通方式是否满意？", False, 0.5),
    ("price_reasonableness", "您认为我们的收费是否合理？", False, 0.1),
    ("after_sales", "您对售后服务是否满意？", False, 0.4),
    ("customisation", "我们的方案是否满足您的个性化需求？", False, 0.3),
    ("brand_image", "您如何评价我们的品牌形象？", False, 0.6),
    ("service_efficiency", "处理问题时经常需要您反复催促。", True, 0.35),
    ("overall_satisfaction", "总体而言，您对我们是否满意？", False, 0.5),
)
NPS_ITEMS = (("likelihood_to_recommend", "您向同行推荐我们的可能性有多大？", False, 0.75),)
BRAND_ITEMS = (
    ("awareness", "您对我们品牌的了解程度如何？", False, 0.6),
    ("brand_image", "我们的品牌形象专业、可信。", False, 0.5),
    ("emotional_connection", "您对我们有情感上的认同。", False, 0.1),
    ("switching_cost", "更换服务商对贵公司代价很高。", False, 0.2),
)
LOYALTY_ITEMS = (
    ("repurchase_intention", "未来一年您继续与我们合作的可能性有多大？", False, 0.55),
    ("loyalty", "有同类需求时，您会优先选择我们。", False, 0.4),
    ("loyalty", "贵公司正在考虑更换服务商。", True, 0.4),
)
