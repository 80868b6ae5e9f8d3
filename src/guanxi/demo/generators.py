"""Realistic bilingual customer data: names, companies, phones, e-mails, addresses, activities.

One generator serves the demo tenant (``seed_demo``) and the large synthetic tenants used for
benchmarks (``make_synthetic_tenant``). Everything comes from one ``random.Random`` seeded by
the caller, so the same seed gives the same data. Phone numbers are produced directly in
E.164 form following each country's numbering plan (Chinese mobiles 13x/15x/18x, landlines
with their area codes) and e-mail addresses in lower case, so they can be stored as
``ContactPoint`` values without further normalisation.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

# --- people ------------------------------------------------------------------------------------

# (family name, pinyin), roughly by frequency: the common ones appear several times.
CN_FAMILY = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("于", "yu"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"),
    ("叶", "ye"), ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"),
    ("任", "ren"), ("沈", "shen"), ("姚", "yao"), ("卢", "lu"), ("姜", "jiang"), ("崔", "cui"),
    ("钟", "zhong"), ("谭", "tan"), ("陆", "lu"), ("汪", "wang"), ("范", "fan"), ("金", "jin"),
    ("石", "shi"), ("廖", "liao"), ("贾", "jia"), ("夏", "xia"), ("韦", "wei"), ("方", "fang"),
    ("白", "bai"), ("邹", "zou"), ("孟", "meng"), ("熊", "xiong"), ("秦", "qin"), ("邱", "qiu"),
    ("江", "jiang"), ("尹", "yin"), ("薛", "xue"), ("段", "duan"), ("雷", "lei"), ("侯", "hou"),
    ("龙", "long"), ("史", "shi"), ("陶", "tao"), ("贺", "he"), ("顾", "gu"), ("毛", "mao"),
    ("郝", "hao"), ("龚", "gong"), ("邵", "shao"), ("钱", "qian"), ("严", "yan"), ("武", "wu"),
    ("戴", "dai"), ("孔", "kong"), ("欧阳", "ouyang"), ("司马", "sima"), ("上官", "shangguan"),
]  # fmt: skip
CN_FAMILY_WEIGHTS = [12 if i < 5 else 6 if i < 12 else 3 if i < 30 else 1 for i in range(len(CN_FAMILY))]

CN_GIVEN_M = [
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("刚", "gang"), ("平", "ping"),
    ("辉", "hui"), ("鹏", "peng"), ("华", "hua"), ("飞", "fei"), ("鑫", "xin"), ("波", "bo"),
    ("斌", "bin"), ("宇", "yu"), ("浩", "hao"), ("凯", "kai"), ("健", "jian"), ("俊", "jun"),
    ("帆", "fan"), ("旭", "xu"), ("宁", "ning"), ("志", "zhi"), ("国", "guo"), ("建", "jian"),
    ("文", "wen"), ("博", "bo"), ("晨", "chen"), ("子", "zi"), ("轩", "xuan"), ("天", "tian"),
    ("泽", "ze"), ("嘉", "jia"), ("睿", "rui"), ("成", "cheng"), ("东", "dong"), ("海", "hai"),
]  # fmt: skip
CN_GIVEN_F = [
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
    ("娟", "juan"), ("霞", "xia"), ("秀", "xiu"), ("玲", "ling"), ("婷", "ting"), ("雪", "xue"),
    ("慧", "hui"), ("琳", "lin"), ("颖", "ying"), ("倩", "qian"), ("晶", "jing"), ("欣", "xin"),
    ("悦", "yue"), ("怡", "yi"), ("佳", "jia"), ("雨", "yu"), ("梦", "meng"), ("思", "si"),
    ("婉", "wan"), ("诗", "shi"), ("涵", "han"), ("瑶", "yao"), ("萱", "xuan"), ("晓", "xiao"),
    ("月", "yue"), ("美", "mei"), ("兰", "lan"), ("红", "hong"), ("燕", "yan"), ("洁", "jie"),
    ("琪", "qi"), ("璐", "lu"),
]  # fmt: skip

WEST_GIVEN_M = [
    "James", "John", "Robert", "Michael", "David", "William", "Richard", "Thomas", "Daniel", "Matthew",
    "Andrew", "Mark", "Paul", "Steven", "Kevin", "Brian", "Oliver", "Lukas", "Felix", "Pierre",
    "Luca", "Henrik", "Samuel", "Benjamin", "Ethan", "Noah", "Liam", "Jonas", "Marco", "Ryan",
]  # fmt: skip
WEST_GIVEN_F = [
    "Mary", "Jennifer", "Linda", "Elizabeth", "Sarah", "Jessica", "Emily", "Emma", "Olivia", "Sophie",
    "Anna", "Laura", "Hannah", "Charlotte", "Amelia", "Grace", "Chloe", "Julia", "Claire", "Rachel",
    "Megan", "Lisa", "Katharina", "Camille", "Isabella", "Mia", "Ella", "Lucy", "Nora", "Zoe",
]  # fmt: skip
WEST_FAMILY = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker",
    "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Carter",
    "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Dubois", "Martin", "Bernard",
    "Rossi", "Bianchi", "Tan", "Lim", "Ng", "Wong", "Lee", "O'Brien", "Murphy", "Kelly",
]  # fmt: skip
ASCII = str.maketrans({"ü": "ue", "ö": "oe", "ä": "ae", "'": "", " ": ""})


@dataclass
class Person:
    family: str
    given: str
    family_latin: str
    given_latin: str
    chinese: bool
    female: bool

    @property
    def full_name(self) -> str:
        if self.chinese:
            return f"{self.family}{self.given}"
        return f"{self.given} {self.family}"

    @property
    def latin(self) -> str:
        """The name in Latin letters: "Wang Wei" (family first, as pinyin is written), "Emma Smith"."""
        if self.chinese:
            return f"{self.family_latin.capitalize()} {self.given_latin.capitalize()}"
        return f"{self.given_latin} {self.family_latin}"


# --- places ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    name: str
    province: str
    country: str
    region: str  # key of the demo tenant's sales region: north / east / south / intl
    dial: str  # E.164 prefix of landlines, e.g. "+8610"
    local_digits: int  # digits of a landline after the prefix
    local_first: str  # allowed first digits of a landline number
    postal: str
    districts: tuple[str, ...]
    streets: tuple[str, ...]
    code: str  # short Latin code used in domains and e-mails
    mobile: tuple[str, ...] = ()  # mobile prefixes (E.164) for non-Chinese cities


CN_CITIES = [
    City("北京", "", "中国", "north", "+8610", 8, "2345689", "100", ("朝阳区", "海淀区", "东城区", "西城区", "丰台区"),
         ("建国路", "中关村大街", "长安街", "望京街", "学院路", "知春路", "酒仙桥路"), "bj"),
    City("天津", "", "中国", "north", "+8622", 8, "2356", "300", ("和平区", "南开区", "河西区", "滨海新区"),
         ("南京路", "卫津路", "友谊路", "黄海路"), "tj"),
    City("石家庄", "河北省", "中国", "north", "+86311", 8, "68", "050", ("长安区", "桥西区", "裕华区"),
         ("中山路", "裕华路", "槐安路"), "sjz"),
    City("上海", "", "中国", "east", "+8621", 8, "3456", "200", ("浦东新区", "徐汇区", "静安区", "长宁区", "闵行区"),
         ("世纪大道", "南京西路", "淮海中路", "张江路", "漕溪北路", "虹桥路"), "sh"),
    City("杭州", "浙江省", "中国", "east", "+86571", 8, "8", "310", ("西湖区", "滨江区", "余杭区", "上城区"),
         ("文三路", "江南大道", "文一西路", "庆春路"), "hz"),
    City("南京", "江苏省", "中国", "east", "+8625", 8, "58", "210", ("鼓楼区", "玄武区", "建邺区"),
         ("中山路", "汉中路", "江东中路"), "nj"),
    City("苏州", "江苏省", "中国", "east", "+86512", 8, "6", "215", ("工业园区", "姑苏区", "吴中区"),
         ("星湖街", "人民路", "干将路"), "sz"),
    City("青岛", "山东省", "中国", "east", "+86532", 8, "8", "266", ("市南区", "崂山区", "黄岛区"),
         ("香港中路", "海尔路", "东海西路"), "qd"),
    City("深圳", "广东省", "中国", "south", "+86755", 8, "28", "518", ("南山区", "福田区", "宝安区", "龙岗区"),
         ("深南大道", "科技园路", "华强北路", "福华一路", "科苑路"), "shenzhen"),
    City("广州", "广东省", "中国", "south", "+8620", 8, "38", "510", ("天河区", "越秀区", "海珠区", "番禺区"),
         ("天河路", "花城大道", "环市东路", "中山大道"), "gz"),
    City("厦门", "福建省", "中国", "south", "+86592", 7, "25", "361", ("思明区", "湖里区"),
         ("鹭江道", "湖滨南路", "嘉禾路"), "xm"),
    City("东莞", "广东省", "中国", "south", "+86769", 8, "28", "523", ("南城街道", "松山湖", "长安镇"),
         ("鸿福路", "工业东路", "莞长路"), "dg"),
]  # fmt: skip
CN_CITY_WEIGHTS = [10, 3, 2, 10, 5, 3, 3, 2, 8, 6, 2, 2]

WEST_CITIES = [
    City("New York", "NY", "United States", "intl", "+1212", 7, "2345678", "10001", ("Manhattan",),
         ("Broadway", "Madison Avenue", "Park Avenue", "Hudson Street"), "ny", ("+1646", "+1917")),
    City("San Francisco", "CA", "United States", "intl", "+1415", 7, "2345678", "94105", ("SoMa",),
         ("Market Street", "Mission Street", "Howard Street"), "sf", ("+1415", "+1628")),
    City("Chicago", "IL", "United States", "intl", "+1312", 7, "2345678", "60601", ("Loop",),
         ("Wacker Drive", "Michigan Avenue", "LaSalle Street"), "chi", ("+1312", "+1773")),
    City("London", "", "United Kingdom", "intl", "+4420", 8, "378", "EC2A 4NE", ("Shoreditch",),
         ("Old Street", "King's Road", "Bishopsgate", "Fleet Street"), "ldn", ("+44773", "+44781", "+44795")),
    City("Berlin", "", "Germany", "intl", "+4930", 8, "2345678", "10115", ("Mitte",),
         ("Friedrichstraße", "Torstraße", "Invalidenstraße"), "ber", ("+49151", "+49160", "+49170", "+49176")),
    City("Munich", "Bavaria", "Germany", "intl", "+4989", 8, "2345678", "80331", ("Altstadt",),
         ("Leopoldstraße", "Maximilianstraße", "Sendlinger Straße"), "muc", ("+49152", "+49172")),
    City("Paris", "", "France", "intl", "+331", 8, "4", "75008", ("8e arrondissement",),
         ("Rue de Rivoli", "Avenue de l'Opéra", "Boulevard Haussmann"), "par", ("+3361", "+3362", "+3367", "+3368")),
    City("Singapore", "", "Singapore", "intl", "+656", 7, "2345", "018989", ("Downtown Core",),
         ("Raffles Place", "Marina Boulevard", "Robinson Road"), "sg", ("+6581", "+6590", "+6591", "+6596", "+6597")),
    City("Sydney", "NSW", "Australia", "intl", "+612", 8, "89", "2000", ("CBD",),
         ("George Street", "Pitt Street", "Kent Street"), "syd", ("+61412", "+61413", "+61423", "+61438")),
]  # fmt: skip
WEST_CITY_WEIGHTS = [4, 3, 2, 4, 3, 2, 2, 5, 2]

# Digits of a national (significant) number by country calling code.
NATIONAL_LENGTH = {"+1": 10, "+44": 10, "+49": 11, "+33": 9, "+65": 8, "+61": 9}

CN_MOBILE_PREFIXES = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "180", "181", "182", "183", "185", "186", "187", "188", "189",
]  # fmt: skip

# --- organisations -----------------------------------------------------------------------------

CN_BRANDS = [
    ("星辰", "xingchen"), ("华腾", "huateng"), ("瑞丰", "ruifeng"), ("博远", "boyuan"), ("鼎盛", "dingsheng"),
    ("恒通", "hengtong"), ("中科", "zhongke"), ("天成", "tiancheng"), ("汇智", "huizhi"), ("锦程", "jincheng"),
    ("新创", "xinchuang"), ("德润", "derun"), ("金石", "jinshi"), ("远航", "yuanhang"), ("宏图", "hongtu"),
    ("明达", "mingda"), ("凯越", "kaiyue"), ("泰和", "taihe"), ("云帆", "yunfan"), ("智联", "zhilian"),
    ("盛世", "shengshi"), ("启明", "qiming"), ("海纳", "haina"), ("正泰", "zhengtai"), ("永信", "yongxin"),
    ("东方", "dongfang"), ("长风", "changfeng"), ("同创", "tongchuang"), ("嘉禾", "jiahe"), ("安达", "anda"),
    ("百川", "baichuan"), ("万象", "wanxiang"), ("卓越", "zhuoyue"), ("光华", "guanghua"), ("易通", "yitong"),
    ("方圆", "fangyuan"), ("信达", "xinda"), ("九州", "jiuzhou"), ("蓝海", "lanhai"), ("青松", "qingsong"),
    ("华信", "huaxinda"), ("天宇", "tianyu"), ("紫金", "zijin"), ("银河", "yinhe"), ("润泽", "runze"),
    ("鸿运", "hongyun"), ("森源", "senyuan"), ("创维", "chuangwei"), ("朗坤", "langkun"), ("致远", "zhiyuan"),
]  # fmt: skip
# (trade, industry key, domain word)
CN_TRADES = [
    ("信息技术", "it", "tech"), ("软件", "it", "soft"), ("网络科技", "it", "net"), ("数据科技", "it", "data"),
    ("电子科技", "manufacturing", "elec"), ("智能制造", "manufacturing", "mfg"), ("精密机械", "manufacturing", "mech"),
    ("医疗器械", "healthcare", "med"), ("生物医药", "healthcare", "bio"), ("物流", "logistics", "logistics"),
    ("供应链管理", "logistics", "scm"), ("国际贸易", "retail", "trade"), ("电子商务", "retail", "shop"),
    ("建设工程", "construction", "build"), ("置业", "construction", "property"), ("新能源", "energy", "energy"),
    ("教育科技", "education", "edu"), ("文化传媒", "media", "media"), ("餐饮管理", "hospitality", "food"),
    ("酒店管理", "hospitality", "hotel"), ("汽车零部件", "automotive", "auto"), ("金融服务", "finance", "fin"),
    ("通信技术", "telecom", "tel"), ("农业科技", "agriculture", "agri"), ("管理咨询", "professional", "consulting"),
    ("食品", "consumer", "foods"), ("日用品", "consumer", "home"),
]  # fmt: skip
CN_SUFFIXES = ["有限公司"] * 6 + ["股份有限公司"] * 2 + ["集团有限公司"]

WEST_PREFIX = [
    "Northwind", "Bluewater", "Evergreen", "Summit", "Pioneer", "Silverline", "Redwood", "Brightstone",
    "Oakridge", "Harbor", "Atlas", "Meridian", "Crestview", "Ironbridge", "Lakeside", "Granite", "Polaris",
    "Sterling", "Horizon", "Keystone", "Bluepeak", "Westfield", "Clearwater", "Falcon", "Riverbend",
]  # fmt: skip
WEST_TRADES = [
    ("Logistics", "logistics"), ("Software", "it"), ("Systems", "it"), ("Manufacturing", "manufacturing"),
    ("Foods", "consumer"), ("Medical", "healthcare"), ("Analytics", "it"), ("Energy", "energy"),
    ("Retail", "retail"), ("Consulting", "professional"), ("Robotics", "manufacturing"), ("Capital", "finance"),
    ("Labs", "healthcare"), ("Hospitality", "hospitality"), ("Telecom", "telecom"), ("Automotive", "automotive"),
]  # fmt: skip
WEST_SUFFIX = {
    "United States": ["Inc.", "LLC", "Corp."],
    "United Kingdom": ["Ltd", "plc"],
    "Germany": ["GmbH", "AG"],
    "France": ["SAS", "SA"],
    "Singapore": ["Pte. Ltd."],
    "Australia": ["Pty Ltd"],
}
WEST_TLD = {
    "United States": "com",
    "United Kingdom": "co.uk",
    "Germany": "de",
    "France": "fr",
    "Singapore": "com.sg",
    "Australia": "com.au",
}
CONSUMER_MAIL_CN = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "139.com"]
CONSUMER_MAIL_WEST = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me"]

SIZES_BY_SUFFIX = {"集团有限公司": ["1000-4999", "5000+"], "股份有限公司": ["200-999", "1000-4999", "5000+"]}
SIZES = ["1-9", "10-49", "50-199", "200-999", "1000-4999"]

JOBS_CN = [
    ("总经理", "总经办"), ("副总经理", "总经办"), ("采购经理", "采购部"), ("采购专员", "采购部"),
    ("IT主管", "信息技术部"), ("CIO", "信息技术部"), ("财务总监", "财务部"), ("会计", "财务部"),
    ("技术总监", "研发中心"), ("研发工程师", "研发中心"), ("销售总监", "销售部"), ("市场经理", "市场部"),
    ("行政主管", "行政部"), ("项目经理", "项目管理部"), ("运营经理", "运营部"), ("人力资源经理", "人力资源部"),
]  # fmt: skip
JOBS_WEST = [
    ("CEO", "Management"), ("COO", "Management"), ("Head of Procurement", "Procurement"), ("Buyer", "Procurement"),
    ("IT Manager", "IT"), ("CIO", "IT"), ("CFO", "Finance"), ("Controller", "Finance"), ("CTO", "Engineering"),
    ("Software Engineer", "Engineering"), ("Sales Director", "Sales"), ("Marketing Manager", "Marketing"),
    ("Office Manager", "Operations"), ("Project Manager", "PMO"), ("Operations Manager", "Operations"),
]  # fmt: skip

# --- activities ----------------------------------------------------------------------------------

SUBJECTS = {
    "call": [
        ("电话跟进报价单", "Follow-up call on the quotation"),
        ("确认交付时间", "Call to confirm the delivery date"),
        ("首次电话沟通需求", "Discovery call"),
        ("续约意向沟通", "Renewal call"),
        ("回访产品使用情况", "Check-in call on product usage"),
        ("沟通第二期付款", "Call about the second payment instalment"),
        ("解答售后问题", "Support call: after-sales question"),
        ("邀请参加新品发布会", "Invitation call for the product launch"),
    ],
    "meeting": [
        ("产品演示", "Product demo"),
        ("季度业务回顾（QBR）", "Quarterly business review"),
        ("合同条款谈判", "Contract negotiation"),
        ("技术方案交流会", "Technical workshop"),
        ("上门拜访 {account}", "Site visit at {account}"),
        ("项目启动会", "Project kick-off"),
        ("年度框架协议洽谈", "Annual framework agreement talks"),
        ("招投标答疑会", "Tender Q&A session"),
    ],
    "task": [
        ("发送报价单", "Send the quotation"),
        ("准备合同草案", "Prepare the contract draft"),
        ("更新客户联系人信息", "Update the contact details"),
        ("安排工程师上门安装", "Schedule an engineer for installation"),
        ("整理会议纪要并发送", "Send the meeting minutes"),
        ("提交投标文件", "Submit the tender documents"),
        ("跟进发票开具", "Follow up on the invoice"),
        ("寄送样品", "Ship product samples"),
        ("准备续约方案", "Prepare the renewal proposal"),
    ],
    "note": [
        ("客户对价格较敏感，需准备折扣方案", "Price-sensitive: prepare a discount option"),
        ("决策人是采购总监，财务需会签", "Decision maker is the head of procurement; finance co-signs"),
        ("客户偏好微信沟通", "Prefers WeChat to e-mail"),
        ("竞争对手也在接触该客户", "A competitor is also talking to them"),
        ("预算预计下季度批复", "Budget approval expected next quarter"),
        ("客户反馈系统运行稳定", "Customer reports the system runs smoothly"),
    ],
    "email": [
        ("发送产品资料和成功案例", "Sent the brochure and case studies"),
        ("报价单已发送", "Quotation sent"),
        ("会议邀请已确认", "Meeting invitation confirmed"),
        ("发送培训日程安排", "Sent the training schedule"),
    ],
}
BODIES = [
    ("与{contact}沟通，对方对{line}方案有兴趣。", "Spoke with {contact}; interested in our {line} offer."),
    ("{contact}希望下周收到详细报价。", "{contact} wants a detailed quotation next week."),
    ("客户正在评估三家供应商，{contact}负责技术评估。", "They are comparing three suppliers; {contact} runs the evaluation."),
    ("{contact}确认预算已到位，等待内部审批。", "{contact} confirmed the budget; internal approval pending."),
    ("需要补充资质文件和售后服务条款。", "They need our certifications and after-sales terms."),
    ("{contact}提到明年有扩容计划。", "{contact} mentioned an expansion next year."),
]  # fmt: skip
NEXT_STEPS = [
    ("下周二再次电话跟进", "Call again next Tuesday"),
    ("发送修改后的报价", "Send the revised quotation"),
    ("安排产品演示", "Arrange a product demo"),
    ("等待客户内部评审结果", "Wait for their internal review"),
    ("约见决策人", "Meet the decision maker"),
]
LOCATIONS = [
    ("客户会议室", "Customer office"),
    ("我司会议室", "Our office"),
    ("腾讯会议", "Zoom"),
    ("客户现场", "On site"),
    ("企业微信视频会议", "Microsoft Teams"),
]
LINES = [("企业软件", "enterprise software"), ("智能硬件", "smart hardware"), ("咨询服务", "consulting")]


@dataclass
class Company:
    name: str
    domain: str
    industry: str
    size: str
    city: City
    chinese: bool
    website: str


class DataGenerator:
    """Deterministic source of realistic records; all randomness comes from ``seed``."""

    def __init__(self, seed: int = 2026):
        self.r = random.Random(seed)

    # -- people --
    def chinese_person(self) -> Person:
        r = self.r
        family, family_py = r.choices(CN_FAMILY, CN_FAMILY_WEIGHTS)[0]
        female = r.random() < 0.5
        pool = CN_GIVEN_F if female else CN_GIVEN_M
        chars = [r.choice(pool)] if r.random() < 0.35 else [r.choice(pool), r.choice(pool)]
        given = "".join(c for c, _ in chars)
        given_py = "".join(p for _, p in chars)
        return Person(family, given, family_py, given_py, True, female)

    def western_person(self) -> Person:
        r = self.r
        female = r.random() < 0.5
        given = r.choice(WEST_GIVEN_F if female else WEST_GIVEN_M)
        family = r.choice(WEST_FAMILY)
        return Person(family, given, family, given, False, female)

    def person(self, chinese: bool) -> Person:
        return self.chinese_person() if chinese else self.western_person()

    # -- places and numbers --
    def chinese_city(self, region: str | None = None) -> City:
        if region is None:
            return self.r.choices(CN_CITIES, CN_CITY_WEIGHTS)[0]
        return self.r.choice([c for c in CN_CITIES if c.region == region])

    def western_city(self) -> City:
        return self.r.choices(WEST_CITIES, WEST_CITY_WEIGHTS)[0]

    def _digits(self, n: int) -> str:
        return str(self.r.randrange(10**n)).zfill(n)

    def cn_mobile(self) -> str:
        """A Chinese mobile number in E.164, e.g. +8613812345678."""
        return f"+86{self.r.choice(CN_MOBILE_PREFIXES)}{self._digits(8)}"

    def landline(self, city: City) -> str:
        """An office number of ``city`` in E.164 (area code + subscriber number)."""
        return f"{city.dial}{self.r.choice(city.local_first)}{self._digits(city.local_digits - 1)}"

    def mobile(self, city: City) -> str:
        """A mobile number of ``city``'s country in E.164."""
        if city.country == "中国":
            return self.cn_mobile()
        prefix = self.r.choice(city.mobile)
        cc = next(c for c in NATIONAL_LENGTH if prefix.startswith(c))
        rest = NATIONAL_LENGTH[cc] - (len(prefix) - len(cc))
        if cc == "+1":  # North American exchange codes start with 2–9
            return f"{prefix}{self.r.choice('23456789')}{self._digits(rest - 1)}"
        return f"{prefix}{self._digits(rest)}"

    def address(self, city: City) -> dict:
        r = self.r
        street = r.choice(city.streets)
        if city.country == "中国":
            return {
                "country": city.country,
                "province": city.province,  # empty for the municipalities (北京市, 上海市 …)
                "city": f"{city.name}市",
                "district": r.choice(city.districts),
                "street": f"{street}{r.randint(1, 399)}号" + (f"{r.randint(2, 28)}层" if r.random() < 0.6 else ""),
                "postal_code": f"{city.postal}{r.randint(0, 999):03d}",
            }
        return {
            "country": city.country,
            "province": city.province,
            "city": city.name,
            "district": "",
            "street": f"{r.randint(1, 500)} {street}",
            "postal_code": city.postal,
        }

    # -- organisations --
    def chinese_company(self, region: str | None = None) -> Company:
        r = self.r
        city = self.chinese_city(region)
        brand, brand_py = r.choice(CN_BRANDS)
        trade, industry, word = r.choice(CN_TRADES)
        suffix = r.choice(CN_SUFFIXES)
        name = f"{city.name}{brand}{trade}{suffix}"
        domain = f"{brand_py}-{word}.com.cn" if r.random() < 0.6 else f"{city.code}{brand_py}.com"
        size = r.choice(SIZES_BY_SUFFIX.get(suffix, SIZES))
        return Company(name, domain, industry, size, city, True, f"https://www.{domain}")

    def western_company(self) -> Company:
        r = self.r
        city = self.western_city()
        prefix = r.choice(WEST_PREFIX)
        trade, industry = r.choice(WEST_TRADES)
        suffix = r.choice(WEST_SUFFIX[city.country])
        name = f"{prefix} {trade} {suffix}"
        domain = f"{prefix.lower()}{trade.lower()}.{WEST_TLD[city.country]}"
        return Company(name, domain, industry, r.choice(SIZES), city, False, f"https://www.{domain}")

    # -- e-mail addresses --
    def work_email(self, person: Person, domain: str) -> str:
        r = self.r
        given = person.given_latin.lower().translate(ASCII)
        family = person.family_latin.lower().translate(ASCII)
        pattern = r.random()
        if pattern < 0.5:
            local = f"{given}.{family}" if not person.chinese else f"{family}{given}"
        elif pattern < 0.8:
            local = f"{given[0]}{family}" if not person.chinese else f"{given}.{family}"
        else:
            local = f"{family}.{given}"
        return f"{local}@{domain}"

    def personal_email(self, person: Person) -> str:
        r = self.r
        if person.chinese:
            host = r.choice(CONSUMER_MAIL_CN)
            if host == "qq.com" and r.random() < 0.7:
                return f"{r.randint(10_000_000, 3_999_999_999)}@qq.com"
            return f"{person.family_latin}{person.given_latin}{r.randint(1, 9999)}@{host}"
        host = r.choice(CONSUMER_MAIL_WEST)
        given = person.given_latin.lower().translate(ASCII)
        family = person.family_latin.lower().translate(ASCII)
        return f"{given}.{family}{r.randint(1, 999)}@{host}"

    def wechat_id(self, person: Person) -> str:
        r = self.r
        if r.random() < 0.5:
            return f"wxid_{''.join(r.choice('abcdefghijkmnpqrstuvwxyz0123456789') for _ in range(12))}"
        return f"{person.family_latin}{person.given_latin}_{r.randint(80, 2005)}"

    def job(self, chinese: bool) -> tuple[str, str]:
        return self.r.choice(JOBS_CN if chinese else JOBS_WEST)

    # -- activities --
    def activity_text(self, kind: str, chinese: bool, *, account: str = "", contact: str = "") -> dict:
        """Subject, body and next step of an activity of ``kind`` in Chinese or English."""
        r = self.r
        lang = 0 if chinese else 1
        subject = r.choice(SUBJECTS[kind])[lang].format(account=account or "")
        line = r.choice(LINES)[lang]
        body = r.choice(BODIES)[lang].format(contact=contact or ("客户" if chinese else "the customer"), line=line)
        return {
            "subject": subject[:200],
            "body": body if kind != "task" or r.random() < 0.5 else "",
            "next_step": r.choice(NEXT_STEPS)[lang] if kind in ("call", "meeting") else "",
            "location": r.choice(LOCATIONS)[lang] if kind == "meeting" else "",
        }

    def business_time(self, day: datetime.date, tz) -> datetime.datetime:
        """A time on ``day`` during office hours (9:00–17:30) in ``tz``, on the quarter hour."""
        minutes = self.r.randrange(9 * 60, 17 * 60 + 31, 15)
        return datetime.datetime.combine(day, datetime.time(minutes // 60, minutes % 60), tzinfo=tz)
