"""Hold every screen label in Chinese (default) and English; no label is written anywhere else."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

LANGUAGES = ("zh", "en")

LABELS: dict[str, dict[str, str]] = {
    "title": {"zh": "街道数字驾驶舱", "en": "Street Digital Cockpit"},
    "residents": {"zh": "实有人口", "en": "Residents"},
    "households": {"zh": "实有房屋", "en": "Households"},
    "buildings": {"zh": "建筑", "en": "Buildings"},
    "office_buildings": {"zh": "商务楼宇", "en": "Office buildings"},
    "enterprises": {"zh": "企业", "en": "Enterprises"},
    "communities": {"zh": "社区", "en": "Communities"},
    "compounds": {"zh": "小区", "en": "Compounds"},
    "grids": {"zh": "网格", "en": "Grids"},
    "grid_workers": {"zh": "网格员", "en": "Grid workers"},
    "fire_online": {"zh": "消防终端在线", "en": "Fire terminals online"},
    "devices_online": {"zh": "物联设备在线", "en": "Devices online"},
    "readings_per_min": {"zh": "每分钟数据", "en": "Readings per minute"},
    "readings_total": {"zh": "累计接收数据", "en": "Readings received"},
    "complaints_today": {"zh": "今日投诉", "en": "Complaints today"},
    "requests_today": {"zh": "今日居民诉求", "en": "Resident requests today"},
    "cases_today": {"zh": "今日上报事件", "en": "Events reported today"},
    "open_cases": {"zh": "在办案件", "en": "Open cases"},
    "sources": {"zh": "数据源", "en": "Sources"},
    "fresh": {"zh": "数据更新于 {age} 秒前", "en": "Data updated {age} s ago"},
    "stale": {"zh": "数据已过期：{names}", "en": "Data is stale: {names}"},
    "waiting": {"zh": "正在等待数据…", "en": "Waiting for data…"},
    # The freshness mark when the view models are older than a few worker cycles (or the page
    # lost the server): says stale first, in words, and keeps the age.
    "fresh_stale": {"zh": "数据已过期 · 更新于 {age} 秒前", "en": "STALE · updated {age} s ago"},
    "source_worker": {"zh": "数据更新服务", "en": "Data updates"},
    # The grid worker's phone: whether the task list is live (the worker's heartbeat).
    "worker_fresh_none": {
        "zh": "数据已过期 · 数据更新服务未运行",
        "en": "STALE · data updates are not running",
    },
    "state_ok": {"zh": "正常", "en": "OK"},
    "state_stale": {"zh": "过期", "en": "Stale"},
    "state_down": {"zh": "中断", "en": "Down"},
    "source_registry": {"zh": "基础库", "en": "Registry"},
    "source_devices": {"zh": "设备台账", "en": "Device list"},
    "source_live": {"zh": "实时数据", "en": "Live data"},
    "source_panel_facts": {"zh": "面板统计", "en": "Panel figures"},
    "source_building_facts": {"zh": "房屋数据", "en": "Building records"},
    "source_enterprise_facts": {"zh": "企业数据", "en": "Enterprise records"},
    "source_case_facts": {"zh": "案件数据", "en": "Case records"},
    "source_map_geometry": {"zh": "地图图层", "en": "Map layers"},
    "source_map_alerts": {"zh": "地图预警", "en": "Map alerts"},
    "source_map_cases": {"zh": "地图案件", "en": "Map cases"},
    "language_switch": {"zh": "English", "en": "中文"},
    # -- demo mode (layouts/demo.py, assets/demo.js) ------------------------------------------------
    "demo_title": {"zh": "演示模式", "en": "Demo mode"},
    "demo_play": {"zh": "▶ 播放", "en": "▶ Play"},
    "demo_pause": {"zh": "❚❚ 暂停", "en": "❚❚ Pause"},
    "demo_restart": {"zh": "↺ 重新开始", "en": "↺ Restart"},
    "demo_speed": {"zh": "速度", "en": "Speed"},
    "demo_source": {"zh": "内容", "en": "Show"},
    "demo_scripted": {"zh": "模拟的一天", "en": "Scripted day"},
    "demo_replay": {"zh": "回放记录", "en": "Replay a day"},
    "demo_day": {"zh": "回放日期", "en": "Day"},
    "demo_no_days": {"zh": "暂无可回放的记录", "en": "No recorded day yet"},
    "demo_preparing": {"zh": "正在准备演示街道…", "en": "Preparing the demo street…"},
    # The steps of a demo room's preparation, named on the "preparing" screen under its bar.
    "demo_step_street": {
        "zh": "生成街道：房屋、人口、企业与设备",
        "en": "Building the street: housing, people, enterprises and devices",
    },
    "demo_step_history": {"zh": "补上近一个月的历史案件", "en": "Adding a month of past cases"},
    "demo_step_copy": {"zh": "复制一份您专用的街道", "en": "Copying a street of your own"},
    "demo_step_scenario": {"zh": "让街道运行起来", "en": "Setting the street running"},
    "demo_step_first_view": {"zh": "绘制第一屏", "en": "Drawing the first screen"},
    "demo_step_elsewhere": {
        "zh": "正在由另一台服务器准备",
        "en": "Being prepared by another server",
    },
    "demo_failed": {"zh": "演示街道准备失败：", "en": "The demo street could not be prepared: "},
    "demo_state_playing": {"zh": "播放中", "en": "Playing"},
    "demo_state_paused": {"zh": "已暂停", "en": "Paused"},
    "demo_state_finished": {"zh": "已结束", "en": "Finished"},
    "demo_state_preparing": {"zh": "准备中", "en": "Preparing"},
    "demo_sim_time": {"zh": "模拟时间", "en": "Simulated time"},
    "demo_synthetic": {"zh": "模拟街道 · 非真实数据", "en": "Simulated street · not real data"},
    "demo_replay_of": {"zh": "回放", "en": "Replay of"},
    "demo_waiting_caption": {"zh": "即将开始…", "en": "About to begin…"},
    "demo_kind_info": {"zh": "概况", "en": "Overview"},
    "demo_kind_signal": {"zh": "信号", "en": "Signal"},
    "demo_kind_alarm": {"zh": "告警", "en": "Alarm"},
    "demo_kind_dispatch": {"zh": "派遣", "en": "Dispatch"},
    "demo_kind_arrival": {"zh": "到场", "en": "Arrival"},
    "demo_kind_handling": {"zh": "处置", "en": "Handling"},
    "demo_kind_closure": {"zh": "结案", "en": "Closure"},
    # -- shell, ticker and cards (wall, tablet) ----------------------------------------------
    "street_fallback": {"zh": "街道", "en": "Subdistrict"},
    "ticker": {"zh": "滚动播报", "en": "Alerts"},
    "no_alerts": {"zh": "暂无预警", "en": "No alerts"},
    "level_red": {"zh": "红色", "en": "Red"},
    "level_orange": {"zh": "橙色", "en": "Orange"},
    "level_yellow": {"zh": "黄色", "en": "Yellow"},
    "level_blue": {"zh": "蓝色", "en": "Blue"},
    "level": {"zh": "预警级别", "en": "Level"},
    "reasons": {"zh": "原因", "en": "Reasons"},
    "object": {"zh": "对象", "en": "Object"},
    "raised_at": {"zh": "发生时间", "en": "Raised"},
    "acknowledged_at": {"zh": "确认时间", "en": "Acknowledged"},
    "not_acknowledged": {"zh": "尚未确认", "en": "Not yet acknowledged"},
    "status_new": {"zh": "新预警", "en": "New"},
    "status_acknowledged": {"zh": "已确认", "en": "Acknowledged"},
    "status_resolved": {"zh": "已解除", "en": "Resolved"},
    "escalated": {"zh": "已升级", "en": "Escalated"},
    "status": {"zh": "状态", "en": "Status"},
    "no_reasons": {"zh": "详见处置平台", "en": "See the case platform for details"},
    "object_device": {"zh": "设备", "en": "Device"},
    "object_building": {"zh": "建筑", "en": "Building"},
    "object_enterprise": {"zh": "企业", "en": "Enterprise"},
    "object_resident": {"zh": "居民（不显示身份）", "en": "Resident (identity withheld)"},
    "object_source": {"zh": "数据源", "en": "Data source"},
    # A grouped ticker item (cockpit.alert_groups): many open alerts of one kind told once.
    "group_count": {"zh": "同类告警", "en": "Open alerts of this kind"},
    "group_places": {"zh": "地点", "en": "Places"},
    "group_more_places": {"zh": "等{n}处", "en": "and {n} more"},
    "group_since": {"zh": "最早", "en": "First raised"},
    "close": {"zh": "关闭", "en": "Close"},
    # The drill-down overlay's name for screen readers (a dialog needs one), whatever card it holds.
    "card_dialog": {"zh": "详情卡片", "en": "Details card"},
    "tap_for_detail": {"zh": "点击查看详情", "en": "Tap for details"},
    "map": {"zh": "地图", "en": "Map"},
    "menu": {"zh": "导航", "en": "Go to"},
    # -- wall KPIs -----------------------------------------------------------------------------
    "closure_rate": {"zh": "处置完结率", "en": "Closure rate"},
    "on_time_rate": {"zh": "按期办结率", "en": "On-time closure"},
    "open_red_alerts": {"zh": "未处置红色预警", "en": "Red alerts not settled"},
    "enterprises_watch": {"zh": "冒烟预警企业", "en": "Enterprises on watch"},
    "elders_due": {"zh": "待走访独居老人", "en": "Elders due a visit"},
    # What each KPI counts and over which window, under its number (layouts/panels.py).
    "kpi_window_cases_today": {"zh": "今日 00:00 起", "en": "since 00:00 today"},
    "kpi_window_closure_rate": {
        "zh": "近30天 · 结案/立案",
        "en": "last 30 days · closed/registered",
    },
    "kpi_window_on_time_rate": {"zh": "近30天 · 按期/结案", "en": "last 30 days · on time/closed"},
    "kpi_window_devices_online": {"zh": "当前 · 在线/登记", "en": "now · online/registered"},
    "kpi_window_open_red_alerts": {
        "zh": "当前 · 未解除或案件未结",
        "en": "now · open, or case open",
    },
    "kpi_window_enterprises_watch": {"zh": "当前 · 预警未解除", "en": "now · open smoke alerts"},
    "kpi_window_elders_due": {"zh": "当前 · 告警未解除", "en": "now · open water/door alerts"},
    "kpi_help_cases_today": {
        "zh": "今日（北京时间 00:00 起）上报的案件数：告警、市民诉求和投诉。",
        "en": "Cases reported today (since 00:00 Beijing time): alerts, requests and complaints.",
    },
    "kpi_help_closure_rate": {
        "zh": "近30天上报并已立案的案件中，已结案（含已评价）的比例。",
        "en": "Of the cases reported in the last 30 days and registered, the share closed "
        "(evaluated included).",
    },
    "kpi_help_on_time_rate": {
        "zh": "近30天上报且已结案的案件中，在结案时限内结案的比例；按时处置率另列。",
        "en": "Of the cases reported in the last 30 days and closed, the share closed by their "
        "deadline; on-time handling is shown beside it.",
    },
    "kpi_help_devices_online": {
        "zh": "登记设备中，在允许的静默时间内上报过的设备数；离线与维护中分别列出。",
        "en": "Registered devices that reported within their allowed silence; offline and in "
        "maintenance are counted separately.",
    },
    "kpi_help_open_red_alerts": {
        "zh": "红色预警中仍未解除的，加上已解除但其案件尚未结案的条数：解除不等于处置完毕。",
        "en": "Red alerts still open, plus those cleared whose case is not closed yet: "
        "cleared is not settled.",
    },
    "kpi_help_enterprises_watch": {
        "zh": "有未解除冒烟预警（110、12345、96315、劳动监察等信号）的企业数。",
        "en": "Enterprises with an open smoke alert (signals from 110, 12345, 96315, labour "
        "inspection).",
    },
    "kpi_help_elders_due": {
        "zh": "独居老人中，有未解除的用水或门磁告警、需上门探访的人数。",
        "en": "Elders living alone with an open water or door alert, due a visit.",
    },
    "kpi_on_time_handling": {"zh": "按时处置率", "en": "On-time handling"},
    # The tablet's KPI opens the list behind it (layouts/kpi_lists.py).
    "kpi_open_list": {"zh": "查看清单", "en": "Show the list"},
    "kpi_list_empty": {"zh": "暂无", "en": "None"},
    "kpi_list_first": {"zh": "列出前 {n} 条", "en": "The first {n} are listed"},
    "kpi_list_no_place": {"zh": "无地址", "en": "No address"},
    "kpi_offline": {"zh": "离线", "en": "offline"},
    "kpi_maintenance": {"zh": "维护中", "en": "in service"},
    # A cleared alert whose case is still open: the ticker and the alert card say so.
    "status_cleared_case_open": {"zh": "已解除 · 案件处置中", "en": "Cleared · case in hand"},
    "alert_case": {"zh": "案件", "en": "Case"},
    "alert_case_due": {"zh": "时限", "en": "due"},
    # -- governance direct (治理直达) -------------------------------------------------------------
    "panel_governance": {"zh": "治理直达", "en": "Governance direct"},
    "housing": {"zh": "房屋赋色", "en": "Housing risk colours"},
    "colour_red": {"zh": "红", "en": "Red"},
    "colour_yellow": {"zh": "黄", "en": "Yellow"},
    "colour_green": {"zh": "绿", "en": "Green"},
    "by_community": {"zh": "按社区", "en": "By community"},
    "top_red_reasons": {"zh": "红色主要原因", "en": "Main reasons for red"},
    "reason_group_renting": {"zh": "疑似群租", "en": "Possible group renting"},
    "reason_floating_share": {"zh": "流动人口占比高", "en": "High floating population"},
    "reason_elders_alone": {"zh": "独居老人", "en": "Elders living alone"},
    "reason_open_cases": {"zh": "未结案件", "en": "Open cases"},
    "reason_fire_alarms": {"zh": "消防设备报警", "en": "Fire-device alarms"},
    "reason_past_incidents": {"zh": "历史安全事件", "en": "Past safety incidents"},
    "fire": {"zh": "消防安全", "en": "Fire safety"},
    "system_water_pressure": {"zh": "高层水压", "en": "Water pressure"},
    "system_electricity": {"zh": "智慧用电", "en": "Smart electricity"},
    "system_smoke_gas": {"zh": "烟感/气感", "en": "Smoke / gas"},
    "system_patrol": {"zh": "巡更", "en": "Patrol"},
    "dev_online": {"zh": "在线", "en": "Online"},
    "dev_alarm": {"zh": "报警", "en": "Alarm"},
    "dev_offline": {"zh": "离线", "en": "Offline"},
    "dev_maintenance": {"zh": "维护中", "en": "In service"},
    "dev_unknown": {"zh": "未知", "en": "Unknown"},
    "case_loop": {"zh": "事件闭环", "en": "Case loop"},
    "overdue": {"zh": "超期", "en": "Overdue"},
    "open": {"zh": "在办", "en": "Open"},
    "state_reported": {"zh": "上报", "en": "Reported"},
    "state_registered": {"zh": "立案", "en": "Registered"},
    "state_dispatched": {"zh": "派遣", "en": "Dispatched"},
    "state_handling": {"zh": "处置中", "en": "Handling"},
    "state_handled": {"zh": "已处置", "en": "Handled"},
    "state_verified": {"zh": "已核查", "en": "Verified"},
    "state_closed": {"zh": "结案", "en": "Closed"},
    "state_evaluated": {"zh": "已评价", "en": "Evaluated"},
    "state_parked": {"zh": "挂账", "en": "Parked"},
    "state_voided": {"zh": "作废", "en": "Voided"},
    "state_rework": {"zh": "返工", "en": "Rework"},
    "state_supervised": {"zh": "督办", "en": "Supervised"},
    "state_escalated": {"zh": "上报区级", "en": "Escalated"},
    "resolution": {"zh": "“136”分级处置", "en": "Where cases end (136)"},
    "level_district": {"zh": "区级", "en": "District"},
    "level_street": {"zh": "街道", "en": "Street"},
    "level_community": {"zh": "社区/网格", "en": "Community / grid"},
    "target": {"zh": "目标", "en": "target"},
    "unrecorded": {"zh": "未记录层级", "en": "level not recorded"},
    "trends": {"zh": "事件趋势", "en": "Case trends"},
    "last_7": {"zh": "近7日", "en": "Last 7 days"},
    "last_30": {"zh": "近30日", "en": "Last 30 days"},
    "reported": {"zh": "上报", "en": "Reported"},
    "category_street_cleanliness": {"zh": "道路不洁", "en": "Dirty street"},
    "category_exposed_rubbish": {"zh": "暴露垃圾", "en": "Exposed rubbish"},
    "category_illegal_building": {"zh": "违法搭建", "en": "Illegal building"},
    "category_occupied_passage": {"zh": "占道经营", "en": "Street trading"},
    "category_fire_passage": {"zh": "消防通道堵塞", "en": "Fire lane blocked"},
    "category_facility_damage": {"zh": "公共设施损坏", "en": "Damaged facility"},
    "category_sanitation": {"zh": "环境卫生", "en": "Sanitation"},
    "category_repair": {"zh": "维修", "en": "Repair"},
    "category_noise": {"zh": "噪声扰民", "en": "Noise"},
    "category_device.offline": {"zh": "设备离线", "en": "Device offline"},
    "category_device.fault": {"zh": "传感器故障", "en": "Sensor fault"},
    "closed": {"zh": "办结", "en": "Closed"},
    # -- enterprise direct (惠企直达) -------------------------------------------------------------
    "panel_enterprise": {"zh": "惠企直达", "en": "Enterprise direct"},
    "smoke_watch": {"zh": "企业冒烟预警", "en": "Enterprise distress watch"},
    "on_watch": {"zh": "预警企业", "en": "On watch"},
    "signals": {"zh": "信号", "en": "Signals"},
    "complaint_110": {"zh": "110报警", "en": "110 police"},
    "complaint_12345": {"zh": "12345热线", "en": "12345 hotline"},
    "complaint_96315": {"zh": "96315市场监管", "en": "96315 market"},
    "complaint_labour": {"zh": "劳动监察", "en": "Labour inspection"},
    "enterprise_no": {"zh": "企业 #{id}", "en": "Enterprise #{id}"},
    "last_visit": {"zh": "上次走访", "en": "Last visit"},
    "never_visited": {"zh": "无走访记录", "en": "No visit on record"},
    # An enterprise on the screens is its trade and number: the wall shows no company's name.
    "industry_software": {"zh": "软件科技", "en": "Software"},
    "industry_consulting": {"zh": "咨询", "en": "Consulting"},
    "industry_trade": {"zh": "贸易", "en": "Trading"},
    "industry_finance": {"zh": "投资管理", "en": "Investment"},
    "industry_design": {"zh": "设计", "en": "Design"},
    "industry_real_estate_agency": {"zh": "房产中介", "en": "Estate agency"},
    "industry_catering": {"zh": "餐饮", "en": "Catering"},
    "industry_retail": {"zh": "零售商贸", "en": "Retail"},
    "industry_logistics": {"zh": "物流", "en": "Logistics"},
    "industry_media": {"zh": "文化传媒", "en": "Media"},
    "industry_fitness": {"zh": "健身", "en": "Fitness"},
    "industry_beauty": {"zh": "美容", "en": "Beauty salon"},
    "industry_training": {"zh": "教育培训", "en": "Tutoring"},
    "industry_driving_school": {"zh": "驾校", "en": "Driving school"},
    "industry_quasi_finance": {"zh": "类金融", "en": "Quasi-finance"},
    "industry_healthcare": {"zh": "医疗科技", "en": "Healthcare"},
    "nothing_on_watch": {"zh": "暂无冒烟企业", "en": "No enterprise on watch"},
    "not_on_watch": {"zh": "未列入冒烟预警", "en": "Not on the distress watch"},
    "smoke_how": {
        "zh": "依据 110、12345、96315 与劳动监察投诉，按加权信号数和来源数定级；预付式消费企业加权",
        "en": "Graded by weighted complaints to 110, 12345, 96315 and labour inspection, and by"
        " how many of them; prepaid businesses weigh more",
    },
    "visits_due": {"zh": "八必访", "en": "Visits due (eight triggers)"},
    "visits": {"zh": "待走访", "en": "Visits due"},
    "no_visits": {"zh": "暂无待走访企业", "en": "No visit due"},
    "triggers": {"zh": "触发情形", "en": "Triggers"},
    "since": {"zh": "预警时间", "en": "Since"},
    "building_economy": {"zh": "楼宇经济", "en": "Building economy"},
    "tax_wan": {"zh": "税收（万元）", "en": "Tax (10k CNY)"},
    "prepaid": {"zh": "预付费企业", "en": "Prepaid firms"},
    "vacancy": {"zh": "空置率", "en": "Vacancy"},
    "building": {"zh": "楼宇", "en": "Building"},
    # -- livelihood direct (民生直达) ------------------------------------------------------------
    "panel_livelihood": {"zh": "民生直达", "en": "Livelihood direct"},
    "elders": {"zh": "独居老人看护", "en": "Elders living alone"},
    "living_alone": {"zh": "独居老人", "en": "Living alone"},
    "due_visit": {"zh": "待走访", "en": "Due a visit"},
    "signal_no_water": {"zh": "长时间未用水", "en": "No water used"},
    "signal_water_running": {"zh": "用水不停", "en": "Water always running"},
    "signal_no_door_opening": {"zh": "长时间未开门", "en": "Door not opened"},
    "elders_privacy": {
        "zh": "只显示人数：姓名与地址留在处置平台",
        "en": "Counts only: names stay on the case platform",
    },
    "elevators": {"zh": "智慧电梯", "en": "Smart elevators"},
    "elev_running": {"zh": "运行", "en": "Running"},
    "elev_trapped": {"zh": "困人", "en": "Person trapped"},
    "taxi": {"zh": "一键叫车", "en": "One-click taxi"},
    "kiosk_fault": {"zh": "故障", "en": "Fault"},
    "recent_calls": {"zh": "近期叫车", "en": "Recent calls"},
    "requests": {"zh": "居民诉求", "en": "Resident requests"},
    "closed_pct": {"zh": "办结率", "en": "Closed"},
    "no_requests": {"zh": "今日暂无诉求", "en": "No request today"},
    "total": {"zh": "合计", "en": "Total"},
    "hot_topics": {"zh": "热点话题", "en": "Hot topics"},
    "topics_week": {"zh": "近7日诉求与投诉", "en": "Last 7 days"},
    "vs_last_week": {"zh": "较上周", "en": "vs last week"},
    "topic": {"zh": "话题", "en": "Topic"},
    "topic_where": {"zh": "集中社区", "en": "Mostly in"},
    "trend_new": {"zh": "新增", "en": "new"},
    "no_topics": {"zh": "近7日暂无诉求与投诉", "en": "No request or complaint in 7 days"},
    "topics_note": {
        "zh": "按类别统计居民诉求与投诉，不含诉求内容和个人信息；集中社区：占本周一半以上",
        "en": "Requests and complaints counted by category, without their text or any "
        "person; mostly in: half or more of the week's in one community",
    },
    "topic_unlisted": {"zh": "其他话题", "en": "Other topic"},
    "category": {"zh": "类别", "en": "Category"},
    "today": {"zh": "今日", "en": "Today"},
    "satisfaction": {"zh": "满意度", "en": "Satisfaction"},
    "satisfaction_note": {
        "zh": "满意度：近30日诉求办结后的回访评分（1-5分），共 {n} 次回访",
        "en": "Satisfaction: revisit scores (1-5) for the last 30 days' requests, {n} answered",
    },
    "tax_trend": {"zh": "同比", "en": "YoY"},
    "tax_vs_last_year": {"zh": "税收同比", "en": "Tax vs last year"},
    "vacancy_known": {"zh": "空置率 {pct}（{n} 栋有房源数）", "en": "Vacancy {pct} ({n} counted)"},
    # Column heads: short, so five columns fit a wall panel in English too.
    "col_enterprises": {"zh": "企业", "en": "Firms"},
    "col_tax_wan": {"zh": "税收（万元）", "en": "Tax (10k)"},
    "col_last_7": {"zh": "近7日", "en": "7 days"},
    "col_change": {"zh": "较上周", "en": "Change"},
    # -- live map (layers/map.py, assets/map.js) --------------------------------------------------
    "map_layers": {"zh": "图层", "en": "Layers"},
    "map_layer_buildings": {"zh": "房屋风险", "en": "Buildings by risk"},
    "map_layer_devices": {"zh": "物联设备", "en": "Devices by state"},
    "map_layer_alerts": {"zh": "实时预警", "en": "Live alerts"},
    "map_layer_cases": {"zh": "在办案件", "en": "Open cases"},
    "map_layer_enterprises": {"zh": "企业分布", "en": "Enterprises"},
    "map_layer_grids": {"zh": "网格", "en": "Grids"},
    "map_risk_red": {"zh": "红 高风险", "en": "Red: high risk"},
    "map_risk_yellow": {"zh": "黄 关注", "en": "Yellow: watch"},
    "map_risk_green": {"zh": "绿 低风险", "en": "Green: low risk"},
    "map_risk_none": {"zh": "未评定", "en": "Not rated"},
    "map_letter_red": {"zh": "红", "en": "R"},
    "map_letter_orange": {"zh": "橙", "en": "O"},
    "map_letter_yellow": {"zh": "黄", "en": "Y"},
    "map_letter_blue": {"zh": "蓝", "en": "B"},
    "map_case_open": {"zh": "在办", "en": "Open"},
    "map_case_overdue": {"zh": "超期", "en": "Overdue"},
    "map_case_new": {"zh": "新案件", "en": "New case"},
    "map_case_work": {"zh": "处置中", "en": "In hand"},
    "map_case_done": {"zh": "待核查", "en": "Awaiting check"},
    "map_waiting": {"zh": "地图数据准备中…", "en": "Preparing the map…"},
    "map_building_card": {"zh": "建筑档案", "en": "Building"},
    "map_device_card": {"zh": "设备档案", "en": "Device"},
    "map_risk": {"zh": "房屋风险", "en": "Risk"},
    "map_no_risk_factor": {"zh": "无加分风险因素", "en": "No risk factor scored"},
    "map_households": {"zh": "实有房屋（户）", "en": "Households"},
    "map_residents": {"zh": "实有人口", "en": "Residents"},
    "map_floating": {"zh": "流动人口", "en": "Floating residents"},
    "map_elders_alone": {"zh": "独居老人", "en": "Elders living alone"},
    "map_enterprises": {"zh": "入驻企业", "en": "Enterprises"},
    "map_floors": {"zh": "层数", "en": "Floors"},
    "map_use": {"zh": "用途", "en": "Use"},
    "map_devices": {"zh": "物联设备", "en": "Devices"},
    "map_no_devices": {"zh": "无联网设备", "en": "No connected device"},
    "map_open_cases": {"zh": "在办案件", "en": "Open cases"},
    "map_no_cases": {"zh": "无在办案件", "en": "No open case"},
    "map_alerts_here": {"zh": "当前预警", "en": "Open alerts"},
    "map_no_alerts": {"zh": "无预警", "en": "No open alert"},
    "map_state": {"zh": "状态", "en": "State"},
    "map_floor": {"zh": "楼层", "en": "Floor"},
    "map_code": {"zh": "编号", "en": "Code"},
    "map_grid": {"zh": "网格", "en": "Grid"},
    "map_located_in": {"zh": "所在建筑", "en": "Building"},
    # Where a case, an alert or a task is (cockpit/places.py): to the building, never the room.
    "where_title": {"zh": "地点", "en": "Where"},
    "where_address": {"zh": "地址", "en": "Address"},
    "where_building": {"zh": "楼栋", "en": "Building"},
    "where_community": {"zh": "社区", "en": "Community"},
    "where_grid": {"zh": "网格", "en": "Grid"},
    "where_floors": {"zh": "{n}层", "en": "{n} floors"},
    "where_floor": {"zh": "{n}楼", "en": "floor {n}"},
    "where_unknown": {"zh": "位置未知", "en": "Location unknown"},
    "where_go": {"zh": "前往", "en": "Go to"},
    "where_show_on_map": {"zh": "在地图上查看", "en": "Show on map"},
    "where_open_in_maps": {"zh": "在手机地图中打开", "en": "Open in maps"},
    "where_device": {"zh": "设备", "en": "Device"},
    "map_unknown_building": {"zh": "该建筑暂无档案", "en": "No record for this building yet"},
    "map_use_residential": {"zh": "住宅", "en": "Residential"},
    "map_use_office": {"zh": "商务楼宇", "en": "Office"},
    "map_use_commercial": {"zh": "商业", "en": "Commercial"},
    "map_use_public": {"zh": "公共建筑", "en": "Public"},
    "map_use_industrial": {"zh": "工业", "en": "Industrial"},
    "map_kind_water_pressure": {"zh": "高层水压", "en": "Water pressure"},
    "map_kind_electricity": {"zh": "智慧用电", "en": "Smart electricity"},
    "map_kind_smoke": {"zh": "烟感", "en": "Smoke detector"},
    "map_kind_gas": {"zh": "燃气报警", "en": "Gas detector"},
    "map_kind_patrol_point": {"zh": "巡更点", "en": "Patrol point"},
    "map_kind_water_meter": {"zh": "智能水表", "en": "Water meter"},
    "map_kind_door_sensor": {"zh": "门磁", "en": "Door sensor"},
    "map_kind_elevator": {"zh": "智慧电梯", "en": "Elevator"},
    "map_kind_taxi_kiosk": {"zh": "一键叫车", "en": "Taxi kiosk"},
    "map_kind_camera": {"zh": "摄像头", "en": "Camera"},
    # -- cases: actions, routing, departments, indicators (cockpit/cases) --
    "case_action_acknowledge": {"zh": "确认", "en": "Acknowledge"},
    "case_action_register": {"zh": "立案", "en": "Register"},
    "case_action_dispatch": {"zh": "派遣", "en": "Dispatch"},
    "case_action_accept": {"zh": "接单", "en": "Accept"},
    "case_action_arrive": {"zh": "到场", "en": "Arrived"},
    "case_action_handled": {"zh": "处置反馈", "en": "Report handled"},
    "case_action_self_handle": {"zh": "自行处置", "en": "Handled on the spot"},
    "case_action_verify": {"zh": "核查通过", "en": "Verify"},
    "case_action_reject": {"zh": "核查不通过", "en": "Send back"},
    "case_action_close": {"zh": "结案", "en": "Close"},
    "case_action_revisit": {"zh": "回访", "en": "Revisit"},
    "case_action_park": {"zh": "挂账", "en": "Park"},
    "case_action_resume": {"zh": "解除挂账", "en": "Resume"},
    "case_action_void": {"zh": "作废", "en": "Void"},
    "case_action_supervise": {"zh": "督办", "en": "Supervise"},
    "case_action_escalate": {"zh": "上报区网格中心", "en": "Escalate to the district"},
    "case_priority_urgent": {"zh": "紧急", "en": "Urgent"},
    "case_priority_normal": {"zh": "一般", "en": "Routine"},
    "case_centre_street": {"zh": "街道城运中心", "en": "Street centre"},
    "case_centre_police": {"zh": "派出所指挥室", "en": "Police command room"},
    "case_overdue": {"zh": "超时", "en": "Overdue"},
    "case_paused": {"zh": "计时暂停", "en": "Clock paused"},
    "case_task_handle": {"zh": "待处置", "en": "To handle"},
    "case_task_revisit": {"zh": "待回访", "en": "To revisit"},
    "case_department_grid": {"zh": "网格", "en": "Grid"},
    "case_department_community": {"zh": "社区", "en": "Community"},
    "case_department_command": {"zh": "街道指挥组", "en": "Street command"},
    "case_department_city_management": {"zh": "城管执法", "en": "City management"},
    "case_department_police": {"zh": "派出所", "en": "Police"},
    "case_department_medical": {"zh": "社区卫生", "en": "Medical"},
    "case_department_property": {"zh": "物业维修", "en": "Property repairs"},
    "case_department_elevator": {"zh": "电梯维保", "en": "Elevator maintenance"},
    "case_department_fire": {"zh": "微型消防站", "en": "Fire station"},
    "case_level_grid": {"zh": "网格", "en": "Grid"},
    "case_level_community": {"zh": "社区", "en": "Community"},
    "case_level_street": {"zh": "街道", "en": "Street"},
    "case_level_district": {"zh": "区级", "en": "District"},
    "case_ind_registered": {"zh": "立案数", "en": "Cases registered"},
    "case_ind_on_time_acceptance": {"zh": "按时受理率", "en": "On-time acceptance"},
    "case_ind_accurate_dispatch": {"zh": "准确派遣率", "en": "Accurate dispatch"},
    "case_ind_on_time_handling": {"zh": "按时处置率", "en": "On-time handling"},
    "case_ind_overdue": {"zh": "超时案件", "en": "Overdue"},
    "case_ind_on_time_verification": {"zh": "按时核查率", "en": "On-time verification"},
    "case_ind_rework_rate": {"zh": "返工率", "en": "Rework rate"},
    "case_ind_closure_rate": {"zh": "结案率", "en": "Closure rate"},
    "case_ind_on_time_closure": {"zh": "按期结案率", "en": "On-time closure"},
    "case_ind_satisfaction": {"zh": "回访满意度", "en": "Revisit satisfaction"},
    "case_ind_self_handled_share": {"zh": "自行处置率", "en": "Self-handled share"},
    "case_ind_score": {"zh": "综合评分", "en": "Score"},
    "case_ind_rank": {"zh": "排名", "en": "Rank"},
    # -- case screens: the case card, the tablet's cases panel, the grid worker page --
    "panel_cases": {"zh": "事件处置", "en": "Cases"},
    "case_category": {"zh": "类别", "en": "Category"},
    "case_priority": {"zh": "紧急程度", "en": "Priority"},
    "case_centre": {"zh": "指挥中心", "en": "Command room"},
    "case_assignee": {"zh": "承办", "en": "Assigned to"},
    "case_deadline": {"zh": "办理时限", "en": "Due by"},
    "case_reported": {"zh": "上报时间", "en": "Reported"},
    "case_history": {"zh": "流转记录", "en": "History"},
    "case_history_when": {"zh": "时间", "en": "When"},
    "case_history_who": {"zh": "经办", "en": "By"},
    "case_history_step": {"zh": "流转", "en": "Step"},
    "case_history_why": {"zh": "说明", "en": "Note"},
    "case_history_more": {"zh": "另有 {n} 条较早记录", "en": "{n} earlier entries not shown"},
    "case_repeats": {
        "zh": "重复上报 ×{n}，首次 {first}，最近 {last}",
        "en": "Repeated ×{n}, first {first}, last {last}",
    },
    "case_note": {"zh": "办理意见", "en": "Note"},
    "case_note_hint": {
        "zh": "督办、上报、挂账、作废、核查不通过须填写",
        "en": "Needed to supervise, escalate, park, void or send back",
    },
    "case_target": {"zh": "派遣对象", "en": "Dispatch to"},
    "case_target_team": {"zh": "处置队伍", "en": "Team"},
    "case_target_worker": {"zh": "网格员", "en": "Grid worker"},
    "case_target_community": {"zh": "社区", "en": "Community"},
    "case_no_targets": {"zh": "暂无可派遣对象", "en": "No dispatch target known yet"},
    "case_satisfaction": {"zh": "回访满意度", "en": "Satisfaction"},
    "case_actions": {"zh": "办理", "en": "Actions"},
    "case_no_actions": {"zh": "当前状态无可办理操作", "en": "Nothing to do in this state"},
    "case_done": {"zh": "已办理：{action}，当前状态：{state}", "en": "Done: {action}; now {state}"},
    "case_repeat": {
        "zh": "该操作已办理过（重复点击只办理一次），当前状态：{state}",
        "en": "Already done (a repeated tap acts once); now {state}",
    },
    "case_refused": {"zh": "无法办理：{reason}", "en": "Refused: {reason}"},
    "case_failed": {"zh": "暂时无法办理，请稍后重试", "en": "Could not act just now; try again"},
    "case_store_down": {
        "zh": "数据库暂时无法连接，本次操作未执行，请稍后重试",
        "en": "The database cannot be reached: nothing was done. Try again shortly",
    },
    "case_gone": {
        "zh": "该案件已不在在办列表中",
        "en": "This case is no longer in the open list",
    },
    "case_open_list": {"zh": "在办案件", "en": "Open cases"},
    "case_no_open": {"zh": "暂无在办案件", "en": "No open case"},
    "case_indicators": {"zh": "考核指标（GB/T 30428）", "en": "Indicators (GB/T 30428)"},
    "case_by_community": {"zh": "按社区", "en": "By community"},
    "case_by_grid": {"zh": "按网格", "en": "By grid"},
    "case_by_department": {"zh": "按部门", "en": "By department"},
    "case_ranking": {"zh": "社区考核排名", "en": "Community ranking"},
    "case_no_indicators": {"zh": "暂无考核数据", "en": "No indicator yet"},
    "case_acknowledge_hint": {"zh": "确认并立案", "en": "Acknowledge and register"},
    "worker_title": {"zh": "网格员任务", "en": "Grid worker tasks"},
    "worker_who": {"zh": "网格员 {id}", "en": "Grid worker {id}"},
    "worker_missing": {
        "zh": "网格员请用本人账号登录；工作人员查看某位网格员的任务，请在网址中写明编号：/worker?worker=编号",
        "en": "Grid workers: sign in with your own account. Staff reading a grid worker's list: "
        "put the number in the address: /worker?worker=<number>",
    },
    "worker_no_tasks": {"zh": "暂无任务", "en": "No task right now"},
    "worker_sent": {"zh": "已提交，正在更新…", "en": "Sent; updating…"},
    # Case categories that are not Open311 services: alert kinds, grid reports, complaints.
    "case_category_fire.smoke": {"zh": "烟感报警", "en": "Smoke alarm"},
    "case_category_fire.smoke_battery": {"zh": "烟感电量低", "en": "Smoke detector battery low"},
    "case_category_fire.gas": {"zh": "燃气泄漏", "en": "Gas leak"},
    "case_category_fire.water_pressure": {"zh": "消防水压异常", "en": "Fire water pressure"},
    "case_category_fire.leakage": {"zh": "电气漏电", "en": "Electrical leakage"},
    "case_category_fire.cable_temperature": {"zh": "线缆温度过高", "en": "Cable overheating"},
    "case_category_fire.overload": {"zh": "用电过载", "en": "Electrical overload"},
    "case_category_fire.patrol_overdue": {"zh": "消防巡查超期", "en": "Fire patrol overdue"},
    "case_category_device.offline": {"zh": "设备离线", "en": "Device offline"},
    "case_category_device.fault": {"zh": "传感器故障", "en": "Sensor fault"},
    "case_category_source.silent": {"zh": "数据源中断", "en": "Data source silent"},
    "case_category_elevator.trapped": {"zh": "电梯困人", "en": "Person trapped in elevator"},
    "case_category_elder.no_water": {"zh": "独居老人未用水", "en": "Elder: no water used"},
    "case_category_elder.water_running": {"zh": "独居老人用水不停", "en": "Elder: water running"},
    "case_category_elder.no_door_opening": {"zh": "独居老人未开门", "en": "Elder: door not opened"},
    "case_category_enterprise.smoke": {"zh": "企业冒烟预警", "en": "Enterprise distress"},
    "case_category_enterprise.visit": {"zh": "企业必访", "en": "Enterprise visit due"},
    "case_category_exposed_rubbish": {"zh": "暴露垃圾", "en": "Exposed rubbish"},
    "case_category_street_cleanliness": {"zh": "道路不洁", "en": "Dirty street"},
    "case_category_illegal_building": {"zh": "违法搭建", "en": "Unauthorised construction"},
    "case_category_occupied_passage": {"zh": "占道经营", "en": "Stall blocking the way"},
    "case_category_fire_passage": {"zh": "消防通道堵塞", "en": "Blocked fire lane"},
    "case_category_facility_damage": {"zh": "公共设施损坏", "en": "Damaged public facility"},
    "case_category_neighbour_dispute": {"zh": "邻里纠纷", "en": "Neighbour dispute"},
    "case_category_dispute": {"zh": "消费纠纷", "en": "Consumer dispute"},
    "case_category_prepaid_refund": {"zh": "预付卡退费", "en": "Prepaid card refund"},
    "case_category_consumer_rights": {"zh": "消费维权", "en": "Consumer rights"},
    "case_category_product_quality": {"zh": "商品质量", "en": "Product quality"},
    "case_category_unpaid_wages": {"zh": "拖欠工资", "en": "Unpaid wages"},
    # The Open311 services again (cockpit.domain.services), for the browser's case lists.
    "case_category_repair": {"zh": "设施报修", "en": "Facility repair"},
    "case_category_sanitation": {"zh": "环境卫生", "en": "Sanitation"},
    "case_category_parking": {"zh": "乱停放", "en": "Illegal parking"},
    "case_category_noise": {"zh": "噪声扰民", "en": "Noise"},
    "case_category_greenery": {"zh": "绿化养护", "en": "Trees and greenery"},
    "case_category_water": {"zh": "供水排水", "en": "Water supply and drainage"},
    "case_category_elevator": {"zh": "电梯故障", "en": "Lift fault"},
    "case_category_elderly_care": {"zh": "为老服务", "en": "Elderly care"},
    # -- accounts (sign-out, audit link)
    "sign_out": {"zh": "退出", "en": "Sign out"},
    "audit_link": {"zh": "审计日志", "en": "Audit log"},
    # -- demo rooms (one demo per visitor; cockpit/demo/rooms.py, callbacks/demo.py)
    "demo_rooms_full": {
        "zh": "所有演示房间都在使用中，请几分钟后再试。",
        "en": "All demo rooms are in use. Please try again in a few minutes.",
    },
    "demo_room_closed": {
        "zh": "您的演示房间因闲置已关闭，请刷新页面开始新的演示。",
        "en": "Your demo room was closed while nobody used it. Reload the page to start a new one.",
    },
    "demo_room_elsewhere": {
        "zh": "本服务进程中没有您的演示房间（它在另一个 Web 工作进程上，或服务已重启），请刷新页面。",
        "en": "This web process holds no demo room of yours (it is on another web worker, "
        "or the server restarted). Reload the page.",
    },
    "demo_not_allowed": {
        "zh": "您的账号无权操作演示。",
        "en": "Your account may not run the demo.",
    },
    "demo_refused": {"zh": "无法操作：{reason}", "en": "Refused: {reason}"},
    "demo_state_closed": {"zh": "已关闭", "en": "Closed"},
    # -- reveal with a reason: the case card's reported words (layouts/reveal.py, callbacks/reveal.py)
    "case_texts_title": {"zh": "群众反映", "en": "What was reported"},
    "case_texts_none": {"zh": "没有文字内容。", "en": "No text was reported."},
    "case_texts_more": {
        "zh": "反映较多，只显示最新的部分。",
        "en": "Many reports: only the newest are shown.",
    },
    "case_texts_masked": {
        "zh": "手机号、身份证号等个人信息已遮蔽。",
        "en": "Mobiles, ID numbers and other personal data are masked.",
    },
    "case_texts_revealed": {
        "zh": "正在显示原文（已记入审计日志），到时自动遮蔽。",
        "en": "Shown unmasked (written to the audit log); masked again by itself.",
    },
    "case_texts_not_here": {
        "zh": "此页面不显示反映原文。",
        "en": "This screen shows no reported text.",
    },
    "case_text_source_resident": {"zh": "居民上报", "en": "Resident"},
    "case_text_source_complaint": {"zh": "投诉热线", "en": "Complaint line"},
    "case_text_source_alert": {"zh": "系统预警", "en": "Alert"},
    "case_text_source_grid_worker": {"zh": "网格员上报", "en": "Grid worker"},
    "case_text_source_hotline": {"zh": "热线", "en": "Hotline"},
    "case_text_source_camera": {"zh": "视频发现", "en": "Camera"},
    "case_text_linked": {"zh": "重复反映", "en": "repeat"},
    "case_reveal_reason": {"zh": "查看原文的理由", "en": "Reason to show unmasked"},
    "case_reveal_placeholder": {"zh": "例如：回访核实联系方式", "en": "e.g. calling back to check"},
    "case_reveal_hint": {
        "zh": "须填写理由（至少 {n} 个字）；原文显示 {seconds} 秒后自动遮蔽，每次查看都记入审计日志。",
        "en": "A reason is required (at least {n} characters); the words show for {seconds} s "
        "and are masked again; every reveal goes to the audit log.",
    },
    "case_reveal_button": {"zh": "显示原文", "en": "Show unmasked"},
    "case_reveal_shown": {
        "zh": "已显示原文，{seconds} 秒后自动遮蔽。",
        "en": "Shown unmasked; masked again in {seconds} s.",
    },
    "case_reveal_refused": {"zh": "未显示原文：{reason}", "en": "Not shown: {reason}"},
    "case_reveal_need_reason": {
        "zh": "请填写查看理由，至少 {n} 个字",
        "en": "type a reason of at least {n} characters",
    },
    "case_reveal_not_allowed": {
        "zh": "您的角色无权查看原文",
        "en": "your role may not show unmasked text",
    },
    "case_reveal_not_here": {
        "zh": "此页面不能查看原文",
        "en": "unmasked text is not shown on this screen",
    },
    "case_reveal_nothing": {"zh": "该案件没有文字内容", "en": "this case has no text"},
    "case_reveal_expired": {
        "zh": "原文已重新遮蔽；如需再次查看，请重新填写理由。",
        "en": "Masked again; to see the words once more, type a reason again.",
    },
    # -- sign-in page (cockpit/web/identity.py)
    "login_title": {"zh": "登录 · 街道数字驾驶舱", "en": "Sign in · Street digital cockpit"},
    "login_head": {"zh": "街道数字驾驶舱", "en": "Street digital cockpit"},
    "login_username": {"zh": "账号", "en": "Account"},
    "login_password": {"zh": "密码", "en": "Password"},
    "login_submit": {"zh": "登录", "en": "Sign in"},
    "login_failed": {
        "zh": "账号或密码不对，请再试一次。",
        "en": "That account name or password is not right. Please try again.",
    },
    "login_limited": {
        "zh": "尝试次数过多，请稍后再试（约一分钟）。",
        "en": "Too many tries. Please wait a minute and try again.",
    },
    "login_hint": {
        "zh": "墙面大屏无需登录：用管理员发给它的专属链接打开。",
        "en": "A wall screen needs no sign-in: open it with the link an admin made for it.",
    },
    "login_signed_out": {"zh": "已退出登录。", "en": "You are signed out."},
    "login_kiosk_refused": {
        "zh": "这个大屏链接已失效，请向管理员要新的链接。",
        "en": "This wall link no longer works. Ask an admin for a new one.",
    },
}


def label(key: str, lang: str) -> str:
    """Return the label in the language, falling back to Chinese."""
    entry = LABELS[key]
    return entry.get(lang) or entry["zh"]


def pick_language(requested: str | None, default: str) -> str:
    """Return a supported language: the requested one if known, else the default."""
    return requested if requested in LANGUAGES else default


def html_lang(lang: str) -> str:
    """Return the BCP 47 tag a page's `lang` attribute names for one of our languages."""
    return "zh-CN" if lang == "zh" else "en"


def labels_for(lang: str) -> dict[str, str]:
    """Return every label in one language, for the browser's clientside callbacks."""
    return {key: label(key, lang) for key in LABELS}


# Place names: generic endings are translated, the proper name before them is spelt in pinyin.
PLACE_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("街道", "Subdistrict"),
    ("网格", "Grid"),
    ("居民区", "Residential Area"),
    ("社区", "Community"),
    ("小区", "Compound"),
    ("新村", "Xincun"),
    ("东路", "East Road"),
    ("西路", "West Road"),
    ("南路", "South Road"),
    ("北路", "North Road"),
    ("路", "Road"),
    ("花园", "Garden"),
    ("公寓", "Apartments"),
    ("家园", "Homes"),
    ("雅苑", "Yayuan"),
    ("苑", "Yuan"),
    ("一村", "Yicun"),
    ("二村", "Ercun"),
    ("三村", "Sancun"),
    ("示范区", "Demonstration District"),
    ("微型消防站", "Fire Station"),  # a community's own (a response team's name)
    ("大厦", "Tower"),
    ("广场", "Plaza"),
    ("区", "District"),
    ("镇", "Town"),
)
# Place-name readings pypinyin's phrase list lacks: 长 in a name is "chang" (Changbai), not the
# verb "zhang" it picks on its own. Added once, per process, when a name is first spelt.
PLACE_READINGS = {
    "长白": [["cháng"], ["bái"]],
    "长江": [["cháng"], ["jiāng"]],
    "长阳": [["cháng"], ["yáng"]],
    "长海": [["cháng"], ["hǎi"]],
    "长宁": [["cháng"], ["níng"]],
    "长治": [["cháng"], ["zhì"]],
    "长兴": [["cháng"], ["xīng"]],
    "长春": [["cháng"], ["chūn"]],
}


# A grid numbered within its community, as the simulator and most streets name them.
NUMBERED_GRID = re.compile(r"^(?P<community>.+?)第(?P<number>\d+)网格$")

# A house on a road, as the address register writes it: 松花江路261弄17号 (lane optional).
HOUSE_ADDRESS = re.compile(r"^(?P<road>.+?路)(?:(?P<lane>\d+)弄)?(?P<no>\d+)号$")


def address_name(address: str | None, lang: str, fallback: str = "") -> str:
    """Return a house address for the language: as stored, or 'No. 17, Lane 261, Songhuajiang Road'."""
    if not address or lang != "en":
        return address or fallback
    match = HOUSE_ADDRESS.match(address.strip())
    road = place_name(match["road"], "en") if match else ""
    if not road:
        return fallback
    lane = f"Lane {match['lane']}, " if match["lane"] else ""
    return f"No. {match['no']}, {lane}{road}"


def place_name(name: str | None, lang: str, fallback: str = "") -> str:
    """Return a place name for the language: as stored in Chinese, romanised in English.

    English gets the fallback for a name it cannot spell, never part of one: "" tells callers
    to try something else.
    """
    if lang != "en":
        return name or fallback
    if not name or not name.strip():
        return fallback
    words: list[str] = []
    rest = name.strip()
    numbered = NUMBERED_GRID.match(rest)
    if numbered:
        # 长白社区第3网格: the grid's number follows its community's name.
        community = place_name(numbered["community"], "en")
        return f"{community} Grid {numbered['number']}" if community else fallback
    while rest:
        for suffix, english in PLACE_SUFFIXES:
            if rest.endswith(suffix) and (rest != suffix or not words):
                words.insert(0, english)
                rest = rest[: -len(suffix)].strip()
                break
        else:
            break
    if rest:
        stem = _pinyin(rest)
        if stem is None:
            return fallback
        words.insert(0, stem)
    return " ".join(words)


@functools.cache
def _syllables() -> Callable[[str], list[str]]:
    """Return pypinyin's plain-syllable reader with the place-name readings loaded."""
    import pypinyin

    pypinyin.load_phrases_dict(PLACE_READINGS)
    return functools.partial(pypinyin.lazy_pinyin, style=pypinyin.Style.NORMAL, errors="default")


def _pinyin(text: str) -> str | None:
    """Spell Chinese characters in pinyin as one capitalised word, or None if one has no reading."""
    parts: list[str] = []
    for syllable in _syllables()(text):
        if not syllable.isascii() or not syllable.strip():
            return None
        if syllable.isalnum() and not syllable.isalpha():
            # Numbers and Latin letters stand apart from the pinyin around them (Tumen 17).
            for ch in syllable:
                if parts and parts[-1][-1:].isalpha() != ch.isalpha():
                    parts.append(" ")
                parts.append(ch)
            continue
        if not syllable.isalpha():
            parts.append(syllable)
            continue
        syllable = syllable.lower()
        # An apostrophe keeps syllables apart where they would run together (Yan'an).
        if parts and parts[-1][-1:].isalpha() and syllable[0] in "aeo":
            parts.append("'")
        elif parts and parts[-1][-1:].isdigit():
            parts.append(" ")
        parts.append(syllable)
    word = "".join(parts).strip()
    return word[:1].upper() + word[1:] if word else None
