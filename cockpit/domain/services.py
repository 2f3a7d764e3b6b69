"""Define the catalogue of resident services a street takes requests for, in Chinese and English."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Bilingual:
    """Hold one text in Chinese (the default) and English."""

    zh: str
    en: str

    def pick(self, lang: str) -> str:
        """Return the English text for 'en', the Chinese text for anything else."""
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Service:
    """Describe one service residents can request, in Open311 GeoReport v2 terms."""

    code: str
    name: Bilingual
    group: Bilingual
    description: Bilingual
    keywords: Bilingual  # comma-separated, as Open311 lists them
    agency: Bilingual  # who handles it at street level (agency_responsible)
    notice: Bilingual  # what the resident is told on submission (service_notice)


_HOUSING = Bilingual("房屋与设施", "Housing and facilities")
_ENVIRONMENT = Bilingual("市容环境", "Environment and cleanliness")
_ORDER = Bilingual("秩序与安全", "Order and safety")
_LIVELIHOOD = Bilingual("民生服务", "Community services")

_HOUSING_OFFICE = Bilingual("街道房管办", "Street housing office")
_CITY_APPEARANCE = Bilingual("街道市容所", "Street city appearance office")
_URBAN_MANAGEMENT = Bilingual("街道城管中队", "Street urban management squad")
_SAFETY_OFFICE = Bilingual("街道平安办", "Street public safety office")
_SERVICE_CENTRE = Bilingual("街道社区服务中心", "Street community service centre")

_USUAL_NOTICE = Bilingual(
    "已受理，街道城运中心将在 1 个工作日内分派处理。",
    "Received. The street operations centre assigns it within one working day.",
)

SERVICES: tuple[Service, ...] = (
    Service(
        "repair",
        Bilingual("设施报修", "Facility repair"),
        _HOUSING,
        Bilingual(
            "楼道灯、门禁、信报箱、公共管道等公共设施损坏",
            "Broken common facilities: stairwell lights, door entry, mailboxes, shared pipes",
        ),
        Bilingual("报修,楼道灯,门禁,管道,维修", "repair,light,door,pipe,broken"),
        _HOUSING_OFFICE,
        _USUAL_NOTICE,
    ),
    Service(
        "sanitation",
        Bilingual("环境卫生", "Sanitation"),
        _ENVIRONMENT,
        Bilingual(
            "垃圾满溢、暴露垃圾、道路不洁、垃圾分类问题",
            "Overflowing bins, exposed rubbish, dirty streets, waste sorting problems",
        ),
        Bilingual("垃圾,垃圾分类,保洁,卫生", "rubbish,garbage,bin,cleaning,waste sorting"),
        _CITY_APPEARANCE,
        _USUAL_NOTICE,
    ),
    Service(
        "parking",
        Bilingual("乱停放", "Illegal parking"),
        _ORDER,
        Bilingual(
            "机动车、非机动车、共享单车乱停乱放",
            "Cars, e-bikes or shared bicycles parked where they should not be",
        ),
        Bilingual("停车,乱停,共享单车,电动车", "parking,car,bicycle,e-bike"),
        _URBAN_MANAGEMENT,
        _USUAL_NOTICE,
    ),
    Service(
        "noise",
        Bilingual("噪声扰民", "Noise"),
        _ORDER,
        Bilingual(
            "夜间施工、商铺、广场舞等噪声扰民",
            "Noise from night-time building work, shops or square dancing",
        ),
        Bilingual("噪音,噪声,施工,扰民", "noise,construction,night,loud"),
        _URBAN_MANAGEMENT,
        Bilingual(
            "已受理。正在发生的噪声扰民也可拨打 110。",
            "Received. For noise happening right now you can also call 110.",
        ),
    ),
    Service(
        "greenery",
        Bilingual("绿化养护", "Trees and greenery"),
        _ENVIRONMENT,
        Bilingual(
            "树木倒伏、枝条折断、绿地损毁或缺乏养护",
            "Fallen trees, broken branches, damaged or neglected green spaces",
        ),
        Bilingual("绿化,树木,草坪,修剪", "tree,branch,grass,greenery,pruning"),
        _CITY_APPEARANCE,
        _USUAL_NOTICE,
    ),
    Service(
        "water",
        Bilingual("供水排水", "Water supply and drainage"),
        _HOUSING,
        Bilingual(
            "停水、水压低、水箱漏水、下水道堵塞或积水",
            "No water, low pressure, leaking tanks, blocked drains or standing water",
        ),
        Bilingual("停水,漏水,水压,下水道,积水", "water,leak,pressure,drain,flooding"),
        _HOUSING_OFFICE,
        _USUAL_NOTICE,
    ),
    Service(
        "elevator",
        Bilingual("电梯故障", "Lift fault"),
        _HOUSING,
        Bilingual(
            "电梯停运、异响、频繁故障（加装电梯也可反映）",
            "Lift out of service, making noises or failing often (including retrofitted lifts)",
        ),
        Bilingual("电梯,停梯,困人,加装电梯", "lift,elevator,stuck,out of service"),
        _HOUSING_OFFICE,
        Bilingual(
            "已受理。如有人被困在电梯内，请立即拨打 119。",
            "Received. If anyone is trapped in the lift, call 119 now.",
        ),
    ),
    Service(
        "elderly_care",
        Bilingual("为老服务", "Elderly care"),
        _LIVELIHOOD,
        Bilingual(
            "独居老人关爱、助餐、助浴、上门探访需求",
            "Support for older people living alone: meals, bathing help, home visits",
        ),
        Bilingual("老人,独居,助餐,养老,探访", "elderly,older people,meals,visit,care"),
        _SERVICE_CENTRE,
        Bilingual(
            "已受理，社区工作者将与您联系。紧急情况请拨打 120。",
            "Received. A community worker will get in touch. In an emergency call 120.",
        ),
    ),
    Service(
        "fire_passage",
        Bilingual("消防通道堵塞", "Blocked fire lane"),
        _ORDER,
        Bilingual(
            "消防通道、楼道被车辆或杂物堵塞，楼道内电动车充电",
            "Fire lanes or stairwells blocked by vehicles or clutter, e-bikes charged indoors",
        ),
        Bilingual("消防通道,楼道堆物,电动车充电", "fire lane,blocked,stairwell,e-bike charging"),
        _SAFETY_OFFICE,
        Bilingual(
            "已受理。如遇火情请立即拨打 119。",
            "Received. If there is a fire, call 119 now.",
        ),
    ),
    Service(
        "illegal_building",
        Bilingual("违法搭建", "Unauthorised construction"),
        _ORDER,
        Bilingual(
            "违章搭建、破墙开店、擅自改变房屋结构",
            "Unauthorised extensions, shopfronts cut into walls, structural alterations",
        ),
        Bilingual("违建,搭建,破墙开店,拆违", "unauthorised,extension,construction,alteration"),
        _URBAN_MANAGEMENT,
        _USUAL_NOTICE,
    ),
)

SERVICES_BY_CODE: MappingProxyType[str, Service] = MappingProxyType(
    {service.code: service for service in SERVICES}
)


def find_service(code: str) -> Service | None:
    """Return the service with this code, or None when the catalogue has none."""
    return SERVICES_BY_CODE.get(code)
