<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AccountsModel</name>
    <message>
        <source>Account</source>
        <translation>账号</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Tier</source>
        <translation>等级</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Quota</source>
        <translation>配额</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>今日</translation>
    </message>
    <message>
        <source>Last used</source>
        <translation>上次使用</translation>
    </message>
    <message>
        <source>Requests this account served today (since local midnight)</source>
        <translation>此账号今天处理的请求数（从本地时间零点算起）</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <source>Google account</source>
        <translation>Google 账号</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>no quota figures</source>
        <translation>无配额数据</translation>
    </message>
    <message>
        <source>{percent} · runs out at ~{time}</source>
        <translation>{percent} · 约 {time} 用完</translation>
    </message>
    <message>
        <source>{percent} · resets in {countdown}</source>
        <translation>{percent} · {countdown}后重置</translation>
    </message>
    <message>
        <source>no figures</source>
        <translation>无数据</translation>
    </message>
    <message>
        <source>{percent} · out ~{time}</source>
        <translation>{percent} · 约 {time} 用完</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>{percent} · {clock}</source>
        <translation>{percent} · {clock}</translation>
    </message>
    <message>
        <source>{percent} · resets {clock} (in {left})</source>
        <translation>{percent} · {clock} 重置（{left}后）</translation>
    </message>
    <message>
        <source>5h</source>
        <translation>5小时</translation>
    </message>
    <message>
        <source>weekly</source>
        <translation>每周</translation>
    </message>
    <message>
        <source>Free</source>
        <translation>免费版</translation>
    </message>
    <message>
        <source>less than a minute</source>
        <translation>不到 1 分钟</translation>
    </message>
    <message>
        <source>{minutes}m</source>
        <translation>{minutes}分钟</translation>
    </message>
    <message>
        <source>{hours}h {minutes}m</source>
        <translation>{hours}小时{minutes}分</translation>
    </message>
    <message>
        <source>{days}d {hours}h</source>
        <translation>{days}天{hours}小时</translation>
    </message>
    <message>
        <source>{weekday} {time}</source>
        <translation>{weekday} {time}</translation>
    </message>
    <message>
        <source>{day} {month} {time}</source>
        <translation>{month}{day}日 {time}</translation>
    </message>
    <message>
        <source>never</source>
        <translation>从未使用</translation>
    </message>
    <message>
        <source>just now</source>
        <translation>刚刚</translation>
    </message>
    <message numerus="yes">
        <source>%n min ago</source>
        <translation>
            <numerusform>%n 分钟前</numerusform>
        </translation>
    </message>
    <message>
        <source>Disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <source>Turned off: the gateway does not use this account.</source>
        <translation>已停用：网关不会使用此账号。</translation>
    </message>
    <message>
        <source>Google no longer accepts this account&apos;s sign-in.</source>
        <translation>Google 不再接受此账号的登录凭据。</translation>
    </message>
    <message>
        <source>Needs sign-in</source>
        <translation>需要重新登录</translation>
    </message>
    <message>
        <source>{detail}
Use “Sign in again” to fix it.</source>
        <translation>{detail}
请点击“重新登录”解决。</translation>
    </message>
    <message>
        <source>Google refused this account</source>
        <translation>Google 拒绝了此账号</translation>
    </message>
    <message>
        <source>Blocked: {reason}</source>
        <translation>已被封禁：{reason}</translation>
    </message>
    <message>
        <source>Cooling down until {time}</source>
        <translation>冷却中，直到 {time}</translation>
    </message>
    <message>
        <source>Google asked to slow down for {models} (a short rate limit); other accounts serve meanwhile.</source>
        <translation>Google 要求 {models} 放慢请求速度（短时限流）；在此期间由其他账号处理请求。</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>正常</translation>
    </message>
    <message>
        <source>Ready to serve requests.</source>
        <translation>可以处理请求。</translation>
    </message>
    <message>
        <source>Out of quota: {models}</source>
        <translation>配额已用完：{models}</translation>
    </message>
    <message>
        <source>{model} (back {time})</source>
        <translation>{model}（{time} 恢复）</translation>
    </message>
    <message>
        <source>Out of quota</source>
        <translation>配额已用完</translation>
    </message>
    <message>
        <source>Out of quota until {time}</source>
        <translation>配额已用完，{time} 恢复</translation>
    </message>
    <message numerus="yes">
        <source>%n models</source>
        <translation>
            <numerusform>%n 个模型</numerusform>
        </translation>
    </message>
    <message>
        <source>Out of quota for {which}</source>
        <translation>{which} 的配额已用完</translation>
    </message>
    <message>
        <source>Out of quota for {which} until {time}</source>
        <translation>{which} 的配额已用完，{time} 恢复</translation>
    </message>
    <message>
        <source>no models yet</source>
        <translation>暂无模型</translation>
    </message>
    <message>
        <source>{kind}, tier: {tier}</source>
        <translation>{kind}，等级：{tier}</translation>
    </message>
    <message>
        <source>Project: {project}</source>
        <translation>项目：{project}</translation>
    </message>
    <message>
        <source> (this account&apos;s own setting)</source>
        <translation>（此账号自己的设置）</translation>
    </message>
    <message>
        <source>Quota protection: {percent}% of each group kept in reserve{own}</source>
        <translation>配额保护：每个模型组保留 {percent}%{own}</translation>
    </message>
    <message>
        <source>Checked {when}</source>
        <translation>检查于 {when}</translation>
    </message>
</context>
<context>
    <name>AccountsPage</name>
    <message>
        <source>Added {count}: {names}.</source>
        <translation>已添加 {count} 个：{names}。</translation>
    </message>
    <message>
        <source>Updated {count}: {names}.</source>
        <translation>已更新 {count} 个：{names}。</translation>
    </message>
    <message numerus="yes">
        <source>%n could not be imported:</source>
        <translation>
            <numerusform>%n 个无法导入：</numerusform>
        </translation>
    </message>
    <message>
        <source>The file lists no accounts.</source>
        <translation>文件中没有任何账号。</translation>
    </message>
    <message>
        <source>Sign in with Google</source>
        <translation>使用 Google 登录</translation>
    </message>
    <message>
        <source>Add a Google account: your browser opens Google&apos;s sign-in page</source>
        <translation>添加 Google 账号：浏览器会打开 Google 的登录页面</translation>
    </message>
    <message>
        <source>Add API key…</source>
        <translation>添加 API 密钥…</translation>
    </message>
    <message>
        <source>Add a Gemini API key from Google AI Studio</source>
        <translation>添加来自 Google AI Studio 的 Gemini API 密钥</translation>
    </message>
    <message>
        <source>Import JSON file…</source>
        <translation>导入 JSON 文件…</translation>
    </message>
    <message>
        <source>A JSON list of {&quot;email&quot;: …, &quot;refresh_token&quot;: …} objects</source>
        <translation>由 {&quot;email&quot;: …, &quot;refresh_token&quot;: …} 对象组成的 JSON 列表</translation>
    </message>
    <message>
        <source>Refresh all quotas</source>
        <translation>刷新全部配额</translation>
    </message>
    <message>
        <source>Disable</source>
        <translation>停用</translation>
    </message>
    <message>
        <source>Sign in again</source>
        <translation>重新登录</translation>
    </message>
    <message>
        <source>Sign in to the selected Google account again (when it needs sign-in)</source>
        <translation>重新登录所选的 Google 账号（当它需要重新登录时）</translation>
    </message>
    <message>
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <source>Label…</source>
        <translation>标签…</translation>
    </message>
    <message>
        <source>Name the selected account in your own words, e.g. work</source>
        <translation>用你自己的话给所选账号起个名字，例如：工作</translation>
    </message>
    <message>
        <source>Filter accounts…</source>
        <translation>筛选账号…</translation>
    </message>
    <message>
        <source>Add your first account</source>
        <translation>添加第一个账号</translation>
    </message>
    <message>
        <source>Gravity Desk answers your apps with the Google AI accounts you add here. Sign in with a Google account (your browser opens Google&apos;s page), or add a Gemini API key from Google AI Studio. Then point your app at the address shown on the Dashboard.</source>
        <translation>Gravity Desk 使用你在这里添加的 Google AI 账号来回应你的应用。使用 Google 账号登录（浏览器会打开 Google 的页面），或添加来自 Google AI Studio 的 Gemini API 密钥。然后把你的应用指向仪表盘上显示的地址。</translation>
    </message>
    <message>
        <source>Add an API key</source>
        <translation>添加 API 密钥</translation>
    </message>
    <message>
        <source>Quota protection</source>
        <translation>配额保护</translation>
    </message>
    <message>
        <source>As in Settings ({percent}%)</source>
        <translation>沿用设置（{percent}%）</translation>
    </message>
    <message>
        <source>Off for this account</source>
        <translation>此账号关闭</translation>
    </message>
    <message>
        <source>Keep {percent}% in reserve</source>
        <translation>保留 {percent}%</translation>
    </message>
    <message>
        <source>Refresh quota</source>
        <translation>刷新配额</translation>
    </message>
    <message>
        <source>Enable</source>
        <translation>启用</translation>
    </message>
    <message>
        <source>You signed in as {name}, not {expected}, so {name} was added. To fix {expected}, choose it on Google&apos;s page when you sign in again.</source>
        <translation>你登录的是 {name}，而不是 {expected}，因此添加了 {name}。要修复 {expected}，请在重新登录时在 Google 页面上选择它。</translation>
    </message>
    <message>
        <source>Signed in: {name} is ready to use.</source>
        <translation>已登录：{name} 可以使用了。</translation>
    </message>
    <message>
        <source>Google did not accept this key: {reason}
Check the key and try again.</source>
        <translation>Google 不接受此密钥：{reason}
请检查密钥后重试。</translation>
    </message>
    <message>
        <source>Added {name}.</source>
        <translation>已添加 {name}。</translation>
    </message>
    <message>
        <source>Import accounts from a JSON file</source>
        <translation>从 JSON 文件导入账号</translation>
    </message>
    <message>
        <source>JSON files (*.json)</source>
        <translation>JSON 文件 (*.json)</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <source>Importing… each account signs in with Google first.</source>
        <translation>正在导入… 每个账号都会先向 Google 登录。</translation>
    </message>
    <message>
        <source>Nothing was imported: {reason}</source>
        <translation>未导入任何内容：{reason}</translation>
    </message>
    <message>
        <source>Quotas refreshed. Needs attention: {names}.</source>
        <translation>配额已刷新。需要处理：{names}。</translation>
    </message>
    <message>
        <source>Quotas refreshed.</source>
        <translation>配额已刷新。</translation>
    </message>
    <message>
        <source>Quota of {name} refreshed.</source>
        <translation>{name} 的配额已刷新。</translation>
    </message>
    <message>
        <source>Remove {name} from Gravity Desk?

Its stored sign-in or key is deleted from this computer. Your Google account itself is not changed, and you can add it again later.</source>
        <translation>要从 Gravity Desk 中移除 {name} 吗？

本机保存的登录凭据或密钥将被删除。你的 Google 账号本身不受影响，以后也可以重新添加。</translation>
    </message>
    <message>
        <source>Remove account?</source>
        <translation>移除账号？</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Label account</source>
        <translation>设置账号标签</translation>
    </message>
    <message>
        <source>A short name for {name} (blank to clear):</source>
        <translation>为 {name} 起个简短的名字（留空则清除）：</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Removed {name}.</source>
        <translation>已移除 {name}。</translation>
    </message>
</context>
<context>
    <name>ApiKeyDialog</name>
    <message>
        <source>Add a Gemini API key</source>
        <translation>添加 Gemini API 密钥</translation>
    </message>
    <message>
        <source>Paste a key from &lt;a href=&quot;https://aistudio.google.com/apikey&quot;&gt;Google AI Studio&lt;/a&gt;. Gravity Desk checks it with Google before adding it and keeps it in your system&apos;s keyring.</source>
        <translation>粘贴来自 &lt;a href=&quot;https://aistudio.google.com/apikey&quot;&gt;Google AI Studio&lt;/a&gt; 的密钥。Gravity Desk 会在添加前向 Google 验证它，并将其保存在系统的密钥环中。</translation>
    </message>
    <message>
        <source>e.g. Work key (optional)</source>
        <translation>例如：工作用密钥（可选）</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>正在验证…</translation>
    </message>
</context>
<context>
    <name>App</name>
    <message>
        <source>Gravity Desk cannot read its settings</source>
        <translation>Gravity Desk 无法读取设置</translation>
    </message>
    <message>
        <source>The settings file has a mistake, so Gravity Desk cannot start.</source>
        <translation>设置文件有错误，Gravity Desk 无法启动。</translation>
    </message>
    <message>
        <source>{message}

Fix the file (or delete it to start over with defaults), then choose Try again.
Settings file: {path}</source>
        <translation>{message}

请修正该文件（或删除它以恢复默认设置），然后选择“重试”。
设置文件：{path}</translation>
    </message>
    <message>
        <source>Open folder</source>
        <translation>打开文件夹</translation>
    </message>
    <message>
        <source>Try again</source>
        <translation>重试</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Gravity Desk cannot start</source>
        <translation>Gravity Desk 无法启动</translation>
    </message>
    <message>
        <source>Gravity Desk could not open its data folder.</source>
        <translation>Gravity Desk 无法打开其数据文件夹。</translation>
    </message>
    <message>
        <source>{error}

Data folder: {folder}

Check that the folder is writable and that no other copy of Gravity Desk uses it, then start Gravity Desk again.</source>
        <translation>{error}

数据文件夹：{folder}

请确认该文件夹可写，且没有其他 Gravity Desk 实例正在使用它，然后重新启动 Gravity Desk。</translation>
    </message>
    <message numerus="yes">
        <source>%n unexpected errors happened inside Gravity Desk. The first:</source>
        <translation>
            <numerusform>Gravity Desk 内部发生了 %n 个意外错误。第一个：</numerusform>
        </translation>
    </message>
    <message>
        <source>Gravity Desk: unexpected error</source>
        <translation>Gravity Desk：意外错误</translation>
    </message>
    <message>
        <source>Something went wrong inside Gravity Desk.</source>
        <translation>Gravity Desk 内部出错了。</translation>
    </message>
    <message>
        <source>{summary}

The app keeps running. If this happens again, restart Gravity Desk; if it still happens, report it with the log file ({log_file} in the data folder).</source>
        <translation>{summary}

应用会继续运行。如果再次出现，请重新启动 Gravity Desk；如果仍然出现，请附上日志文件（数据文件夹中的 {log_file}）报告此问题。</translation>
    </message>
</context>
<context>
    <name>AppController</name>
    <message>
        <source>Update available</source>
        <translation>有可用更新</translation>
    </message>
    <message>
        <source>Gravity Desk {version} is published: {url}</source>
        <translation>Gravity Desk {version} 已发布：{url}</translation>
    </message>
    <message>
        <source>Client version outdated</source>
        <translation>客户端版本已过时</translation>
    </message>
    <message>
        <source>Google no longer supports the client version Gravity Desk sends ({version}), so requests fail. Raise Settings → Google connection → Client version (upstream.client_version).</source>
        <translation>Google 不再支持 Gravity Desk 发送的客户端版本（{version}），因此请求会失败。请在“设置 → Google 连接 → 客户端版本”（upstream.client_version）中调高版本。</translation>
    </message>
</context>
<context>
    <name>ClientSetupDialog</name>
    <message>
        <source>Set up {client}</source>
        <translation>设置 {client}</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>应用</translation>
    </message>
    <message>
        <source>Undo last change</source>
        <translation>撤销上次更改</translation>
    </message>
    <message>
        <source>Put back the file as it was before Gravity Desk last changed it</source>
        <translation>把文件恢复到 Gravity Desk 上次更改之前的样子</translation>
    </message>
    <message>
        <source>{client} reads its settings from {path}.</source>
        <translation>{client} 从 {path} 读取设置。</translation>
    </message>
    <message>
        <source>{path} already points {client} at Gravity Desk.</source>
        <translation>{path} 已经让 {client} 指向 Gravity Desk。</translation>
    </message>
    <message>
        <source>Gravity Desk will create {path} for {client}:</source>
        <translation>Gravity Desk 将为 {client} 创建 {path}：</translation>
    </message>
    <message>
        <source>Gravity Desk will change {path} for {client} (the rest of the file stays):</source>
        <translation>Gravity Desk 将为 {client} 修改 {path}（文件的其余部分保持不变）：</translation>
    </message>
    <message>
        <source>Done: restart {client} to use Gravity Desk. The old file is kept as {backup}.</source>
        <translation>完成：重新启动 {client} 即可使用 Gravity Desk。旧文件已保存为 {backup}。</translation>
    </message>
    <message>
        <source>Undone: {path} is as it was before.</source>
        <translation>已撤销：{path} 已恢复原样。</translation>
    </message>
</context>
<context>
    <name>DashboardPage</name>
    <message>
        <source>Last 24 hours</source>
        <translation>最近 24 小时</translation>
    </message>
    <message>
        <source>Last hour</source>
        <translation>最近 1 小时</translation>
    </message>
    <message>
        <source>OpenAI (Python)</source>
        <translation>OpenAI（Python）</translation>
    </message>
    <message>
        <source>OpenAI (environment)</source>
        <translation>OpenAI（环境变量）</translation>
    </message>
    <message>
        <source>Gemini (Python)</source>
        <translation>Gemini（Python）</translation>
    </message>
    <message>
        <source>shell</source>
        <translation>终端</translation>
    </message>
    <message>
        <source># In a {shell}, before starting an app that uses the OpenAI SDK:</source>
        <translation># 在{shell}中执行，然后再启动使用 OpenAI SDK 的应用：</translation>
    </message>
    <message>
        <source># In a {shell}, then start Claude Code (claude) from it:</source>
        <translation># 在{shell}中执行，然后从中启动 Claude Code（claude）：</translation>
    </message>
    <message>
        <source># Tools that send an x-api-key header read ANTHROPIC_API_KEY instead (set one of the two):</source>
        <translation># 发送 x-api-key 请求头的工具读取的是 ANTHROPIC_API_KEY（两者设置其一即可）：</translation>
    </message>
    <message>
        <source>in {hours} h {minutes} min ({time})</source>
        <translation>{hours} 小时 {minutes} 分钟后（{time}）</translation>
    </message>
    <message>
        <source>in {minutes} min ({time})</source>
        <translation>{minutes} 分钟后（{time}）</translation>
    </message>
    <message>
        <source>Connect your apps</source>
        <translation>连接你的应用</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>The key the snippets and one-click setup use</source>
        <translation>代码片段和一键设置所用的密钥</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>显示</translation>
    </message>
    <message>
        <source>Server address</source>
        <translation>服务器地址</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>Copy {title} snippet</source>
        <translation>复制 {title} 代码片段</translation>
    </message>
    <message>
        <source>Set up a client in one click:</source>
        <translation>一键设置客户端：</translation>
    </message>
    <message>
        <source>Shows the change to its config file first; keeps a backup for Undo</source>
        <translation>先显示对其配置文件的更改；并保留备份以便撤销</translation>
    </message>
    <message>
        <source>{client}…</source>
        <translation>{client}…</translation>
    </message>
    <message>
        <source>The server address is on the clipboard.</source>
        <translation>服务器地址已复制到剪贴板。</translation>
    </message>
    <message>
        <source>The API key is on the clipboard.</source>
        <translation>API 密钥已复制到剪贴板。</translation>
    </message>
    <message>
        <source>Gravity Desk {version} is available (this is {current}). &lt;a href=&quot;{url}&quot;&gt;See what is new and download it&lt;/a&gt;.</source>
        <translation>Gravity Desk {version} 已可用（当前为 {current}）。&lt;a href=&quot;{url}&quot;&gt;查看新内容并下载&lt;/a&gt;。</translation>
    </message>
    <message>
        <source>The {title} snippet is on the clipboard.</source>
        <translation>{title} 代码片段已复制到剪贴板。</translation>
    </message>
    <message>
        <source>Serving at {url}. Point your apps at this address.</source>
        <translation>正在 {url} 上提供服务。请把你的应用指向这个地址。</translation>
    </message>
    <message>
        <source>Starting the server…</source>
        <translation>正在启动服务器…</translation>
    </message>
    <message>
        <source>Paused: apps get no answer until you resume the server from the tray menu.</source>
        <translation>已暂停：在你从托盘菜单恢复服务器之前，应用不会得到任何回应。</translation>
    </message>
    <message>
        <source>The server is not running: {reason}</source>
        <translation>服务器未运行：{reason}</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>Hide</source>
        <translation>隐藏</translation>
    </message>
    <message>
        <source>No API key is set, so any program on this computer can use the gateway. Generate one in Settings to require it.</source>
        <translation>尚未设置 API 密钥，因此本机上的任何程序都可以使用网关。请在“设置”中生成一个密钥以启用验证。</translation>
    </message>
    <message>
        <source>Activity</source>
        <translation>活动</translation>
    </message>
    <message>
        <source>Requests</source>
        <translation>请求</translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation>令牌</translation>
    </message>
    <message>
        <source>No tokens in this period</source>
        <translation>此时间段内没有令牌用量</translation>
    </message>
    <message>
        <source>Activity could not be read ({error}).</source>
        <translation>无法读取活动数据（{error}）。</translation>
    </message>
    <message>
        <source>Succeeded</source>
        <translation>成功</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>In</source>
        <translation>输入</translation>
    </message>
    <message>
        <source>Out</source>
        <translation>输出</translation>
    </message>
    <message numerus="yes">
        <source>{range}: %Ln request(s), {failed} failed, {tokens_in} tokens in, {tokens_out} out</source>
        <translation>
            <numerusform>{range}：%Ln 个请求，{failed} 个失败，输入 {tokens_in} 个令牌，输出 {tokens_out} 个</numerusform>
        </translation>
    </message>
    <message>
        <source>Quota left</source>
        <translation>剩余配额</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Accounts with quota</source>
        <translation>有配额的账号</translation>
    </message>
    <message>
        <source>Best remaining</source>
        <translation>最多剩余</translation>
    </message>
    <message>
        <source>Earliest reset</source>
        <translation>最早重置</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>{count} of {total}</source>
        <translation>{count} / {total}</translation>
    </message>
    <message>
        <source>No accounts yet: add a Google account or an API key on the Accounts page.</source>
        <translation>还没有账号：请在“账号”页面添加 Google 账号或 API 密钥。</translation>
    </message>
    <message>
        <source>No account can be used right now (disabled, blocked or needing sign-in): see Accounts.</source>
        <translation>目前没有可用的账号（已停用、被封禁或需要重新登录）：请查看“账号”页面。</translation>
    </message>
    <message>
        <source>Quotas refresh in the background; Refresh on the Accounts page reads them now.</source>
        <translation>配额会在后台刷新；在“账号”页面点击刷新可立即读取。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Accounts</source>
        <translation>账号</translation>
    </message>
    <message>
        <source>Requests</source>
        <translation>请求日志</translation>
    </message>
    <message>
        <source>Dashboard</source>
        <translation>仪表盘</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Windows Credential Manager normally encrypts them: check that its service (Credential Manager) is running, then restart Gravity Desk.</source>
        <translation>Windows 凭据管理器通常会加密它们：请检查其服务（Credential Manager）是否在运行，然后重新启动 Gravity Desk。</translation>
    </message>
    <message>
        <source>The macOS Keychain normally encrypts them: unlock your login keychain, then restart Gravity Desk.</source>
        <translation>macOS 钥匙串通常会加密它们：请解锁你的登录钥匙串，然后重新启动 Gravity Desk。</translation>
    </message>
    <message>
        <source>To encrypt them, install or unlock a keyring (GNOME Keyring, KWallet) and restart Gravity Desk.</source>
        <translation>要加密它们，请安装或解锁一个密钥环（GNOME Keyring、KWallet），然后重新启动 Gravity Desk。</translation>
    </message>
    <message>
        <source>Close Window</source>
        <translation>关闭窗口</translation>
    </message>
    <message>
        <source>Quit Gravity Desk</source>
        <translation>退出 Gravity Desk</translation>
    </message>
    <message>
        <source>{title}: {message}</source>
        <translation>{title}：{message}</translation>
    </message>
    <message>
        <source>● Serving on {url}</source>
        <translation>● 正在 {url} 上提供服务</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Paused: apps get no answers until you resume</source>
        <translation>已暂停：恢复之前应用不会得到回应</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>恢复</translation>
    </message>
    <message>
        <source>Not running</source>
        <translation>未运行</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <source>&lt;b&gt;The server is not running.&lt;/b&gt; {reason}</source>
        <translation>&lt;b&gt;服务器未运行。&lt;/b&gt;{reason}</translation>
    </message>
    <message>
        <source>It could not listen.</source>
        <translation>无法监听端口。</translation>
    </message>
    <message>
        <source>Change port…</source>
        <translation>更改端口…</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <source>&lt;b&gt;No accounts yet.&lt;/b&gt; Add a Google account or a Gemini API key, then point your apps at the address on the Dashboard.</source>
        <translation>&lt;b&gt;还没有账号。&lt;/b&gt;请添加 Google 账号或 Gemini API 密钥，然后把你的应用指向仪表盘上的地址。</translation>
    </message>
    <message>
        <source>Add an account</source>
        <translation>添加账号</translation>
    </message>
    <message>
        <source>&lt;b&gt;No account can answer requests right now&lt;/b&gt; (signed out, blocked, disabled or out of quota). Open Accounts to sign in again, enable one or add another.</source>
        <translation>&lt;b&gt;目前没有账号可以处理请求&lt;/b&gt;（已退出登录、被封禁、已停用或配额用完）。请打开“账号”页面重新登录、启用账号或添加新账号。</translation>
    </message>
    <message>
        <source>Open Accounts</source>
        <translation>打开账号页面</translation>
    </message>
    <message>
        <source>&lt;b&gt;Account secrets are not encrypted.&lt;/b&gt; No system keyring was found, so they are kept in {path} (readable only by you). {advice}</source>
        <translation>&lt;b&gt;账号凭据未加密。&lt;/b&gt;未找到系统密钥环，因此它们保存在 {path} 中（仅你本人可读）。{advice}</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>忽略</translation>
    </message>
    <message>
        <source>&lt;b&gt;Google no longer supports the client version Gravity Desk sends&lt;/b&gt; ({version}, as “{agent}”), so every request to Google accounts fails. Raise &lt;b&gt;Client version&lt;/b&gt; in Settings → Google connection (&lt;code&gt;upstream.client_version&lt;/code&gt; in config.toml) to the current Antigravity version, then press Apply. Your accounts are fine.</source>
        <translation>&lt;b&gt;Google 不再支持 Gravity Desk 发送的客户端版本&lt;/b&gt;（{version}，即“{agent}”），因此发往 Google 账号的每个请求都会失败。请在“设置 → Google 连接”中把&lt;b&gt;客户端版本&lt;/b&gt;（config.toml 中的 &lt;code&gt;upstream.client_version&lt;/code&gt;）调高到当前的 Antigravity 版本，然后点击“应用”。你的账号没有问题。</translation>
    </message>
    <message>
        <source>Change client version…</source>
        <translation>更改客户端版本…</translation>
    </message>
</context>
<context>
    <name>ModelMappingModel</name>
    <message>
        <source>Exact name, or a pattern with * and ?</source>
        <translation>精确名称，或包含 * 和 ? 的通配模式</translation>
    </message>
</context>
<context>
    <name>NewKeyDialog</name>
    <message>
        <source>New API key</source>
        <translation>新建 API 密钥</translation>
    </message>
    <message>
        <source>Name the key after the program that will use it:</source>
        <translation>用将要使用它的程序来命名此密钥：</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Create</source>
        <translation>创建</translation>
    </message>
    <message>
        <source>A key needs a name (for example the program that uses it).</source>
        <translation>密钥需要一个名称（例如使用它的程序）。</translation>
    </message>
    <message>
        <source>This is the whole key. It is shown only now: copy it into the program. Press Apply in Settings to start accepting it.</source>
        <translation>这是完整的密钥，只在此时显示一次：请把它复制到程序中。在“设置”中点击“应用”后即开始接受此密钥。</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>已复制</translation>
    </message>
</context>
<context>
    <name>RequestLogModel</name>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Protocol</source>
        <translation>协议</translation>
    </message>
    <message>
        <source>Path</source>
        <translation>路径</translation>
    </message>
    <message>
        <source>Model (asked → used)</source>
        <translation>模型（请求 → 实际）</translation>
    </message>
    <message>
        <source>Account</source>
        <translation>账号</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Latency</source>
        <translation>耗时</translation>
    </message>
    <message>
        <source>First byte</source>
        <translation>首字节</translation>
    </message>
    <message>
        <source>Tokens in</source>
        <translation>输入令牌</translation>
    </message>
    <message>
        <source>Tokens out</source>
        <translation>输出令牌</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>错误</translation>
    </message>
    <message>
        <source>Time until the first byte of the answer reached the app</source>
        <translation>回应的第一个字节到达应用所用的时间</translation>
    </message>
    <message>
        <source>The request log could not be read ({error}). Try again in a moment.</source>
        <translation>无法读取请求日志（{error}）。请稍后重试。</translation>
    </message>
    <message>
        <source>Asked for {asked}; served by {served}</source>
        <translation>请求 {asked}；由 {served} 处理</translation>
    </message>
    <message>
        <source>streamed</source>
        <translation>流式</translation>
    </message>
    <message>
        <source>one answer</source>
        <translation>一次性回应</translation>
    </message>
</context>
<context>
    <name>RequestsPage</name>
    <message>
        <source>All statuses</source>
        <translation>所有状态</translation>
    </message>
    <message>
        <source>Succeeded</source>
        <translation>成功</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>429 · out of quota or rate limited</source>
        <translation>429 · 配额用完或被限流</translation>
    </message>
    <message>
        <source>401 · wrong or missing API key</source>
        <translation>401 · API 密钥错误或缺失</translation>
    </message>
    <message>
        <source>400 · bad request</source>
        <translation>400 · 请求有误</translation>
    </message>
    <message>
        <source>404 · unknown model or path</source>
        <translation>404 · 未知的模型或路径</translation>
    </message>
    <message>
        <source>500 · gateway error</source>
        <translation>500 · 网关错误</translation>
    </message>
    <message>
        <source>502 · the upstream failed</source>
        <translation>502 · 上游出错</translation>
    </message>
    <message>
        <source>503 · no account available</source>
        <translation>503 · 没有可用账号</translation>
    </message>
    <message>
        <source>All protocols</source>
        <translation>所有协议</translation>
    </message>
    <message>
        <source>Claude (Anthropic)</source>
        <translation>Claude（Anthropic）</translation>
    </message>
    <message>
        <source>All models</source>
        <translation>所有模型</translation>
    </message>
    <message>
        <source>All accounts</source>
        <translation>所有账号</translation>
    </message>
    <message>
        <source>Select a request above to see its timings, tokens, error and bodies.</source>
        <translation>在上方选择一个请求，查看其耗时、令牌、错误和请求/回应内容。</translation>
    </message>
    <message>
        <source>Request and response bodies are not recorded. To see them for new requests, turn on body capture in Settings (Request log → Save request and answer bodies).</source>
        <translation>未记录请求和回应内容。要查看新请求的内容，请在“设置”中开启内容记录（请求日志 → 保存请求和回应内容）。</translation>
    </message>
    <message>
        <source>No bodies were recorded for this request (body capture was off when it ran).</source>
        <translation>此请求没有记录内容（处理时内容记录处于关闭状态）。</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>开始时间</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>no answer (the app hung up or the gateway stopped)</source>
        <translation>无回应（应用断开了连接或网关已停止）</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>asked for {asked}, served by {served}</source>
        <translation>请求 {asked}，由 {served} 处理</translation>
    </message>
    <message>
        <source>Account</source>
        <translation>账号</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>Latency</source>
        <translation>耗时</translation>
    </message>
    <message>
        <source>First byte</source>
        <translation>首字节</translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation>令牌</translation>
    </message>
    <message>
        <source>{tokens_in} in, {tokens_out} out</source>
        <translation>输入 {tokens_in}，输出 {tokens_out}</translation>
    </message>
    <message>
        <source>streamed</source>
        <translation>流式</translation>
    </message>
    <message>
        <source>one answer</source>
        <translation>一次性回应</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>错误</translation>
    </message>
    <message>
        <source>Request body</source>
        <translation>请求内容</translation>
    </message>
    <message>
        <source>Response body</source>
        <translation>回应内容</translation>
    </message>
    <message>
        <source>Search path, model, account or error…</source>
        <translation>搜索路径、模型、账号或错误…</translation>
    </message>
    <message>
        <source>Clear…</source>
        <translation>清空…</translation>
    </message>
    <message>
        <source>Delete every request from the log</source>
        <translation>删除日志中的所有请求</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Save the requests that match the filters as CSV or JSON Lines</source>
        <translation>将符合筛选条件的请求保存为 CSV 或 JSON Lines</translation>
    </message>
    <message>
        <source>No requests yet. Requests your apps send through Gravity Desk appear here as they finish; the Dashboard shows how to point an app at it.</source>
        <translation>还没有请求。你的应用通过 Gravity Desk 发送的请求完成后会显示在这里；仪表盘介绍了如何把应用指向它。</translation>
    </message>
    <message>
        <source>No requests match these filters.</source>
        <translation>没有符合这些筛选条件的请求。</translation>
    </message>
    <message>
        <source>Clear the request log</source>
        <translation>清空请求日志</translation>
    </message>
    <message>
        <source>Delete every request from the log? This cannot be undone.
Export the log first if you want to keep a copy.</source>
        <translation>要删除日志中的所有请求吗？此操作无法撤销。
如需保留副本，请先导出日志。</translation>
    </message>
    <message>
        <source>Delete all</source>
        <translation>全部删除</translation>
    </message>
    <message>
        <source>The log could not be cleared ({error}). Try again in a moment.</source>
        <translation>无法清空日志（{error}）。请稍后重试。</translation>
    </message>
    <message>
        <source>The request log was cleared.</source>
        <translation>请求日志已清空。</translation>
    </message>
    <message>
        <source>Export the request log</source>
        <translation>导出请求日志</translation>
    </message>
    <message>
        <source>CSV for spreadsheets (*.csv)</source>
        <translation>用于电子表格的 CSV (*.csv)</translation>
    </message>
    <message>
        <source>JSON Lines (*.jsonl)</source>
        <translation>JSON Lines (*.jsonl)</translation>
    </message>
    <message>
        <source>Exporting the request log…</source>
        <translation>正在导出请求日志…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Export cancelled; no file was written.</source>
        <translation>导出已取消；没有写入任何文件。</translation>
    </message>
    <message>
        <source>Could not write {path}: {error}. Choose another folder or name.</source>
        <translation>无法写入 {path}：{error}。请选择其他文件夹或文件名。</translation>
    </message>
    <message>
        <source>The export failed ({error}). Try again in a moment.</source>
        <translation>导出失败（{error}）。请稍后重试。</translation>
    </message>
    <message numerus="yes">
        <source>Exported %n request(s) to {path}.</source>
        <translation>
            <numerusform>已将 %n 个请求导出到 {path}。</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Revert</source>
        <translation>还原</translation>
    </message>
    <message>
        <source>Put back the saved settings</source>
        <translation>恢复为已保存的设置</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>应用</translation>
    </message>
    <message>
        <source>Apply the changes now and save them to config.toml</source>
        <translation>立即应用更改并保存到 config.toml</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>服务器</translation>
    </message>
    <message>
        <source>127.0.0.1 = only programs on this computer; 0.0.0.0 = every network</source>
        <translation>127.0.0.1 = 仅限本机程序；0.0.0.0 = 所有网络</translation>
    </message>
    <message>
        <source>Listen on address:</source>
        <translation>监听地址：</translation>
    </message>
    <message>
        <source>Other computers can reach this address: anyone on your network can reach the API — keep API keys on.</source>
        <translation>其他计算机可以访问此地址：你网络中的任何人都能访问该 API — 请保持启用 API 密钥。</translation>
    </message>
    <message>
        <source>Port:</source>
        <translation>端口：</translation>
    </message>
    <message>
        <source>API keys</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>Programs using Gravity Desk send one of these keys (as their OpenAI / Anthropic key).</source>
        <translation>使用 Gravity Desk 的程序需发送其中一个密钥（作为它们的 OpenAI / Anthropic 密钥）。</translation>
    </message>
    <message>
        <source>No API keys: authentication is off, so any program that can reach the port can use your accounts. Generate a key to turn it on.</source>
        <translation>没有 API 密钥：身份验证已关闭，任何能访问该端口的程序都可以使用你的账号。生成一个密钥即可开启验证。</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Copy the selected key to the clipboard</source>
        <translation>将所选密钥复制到剪贴板</translation>
    </message>
    <message>
        <source>Revoke…</source>
        <translation>吊销…</translation>
    </message>
    <message>
        <source>Programs using this key stop working once you apply</source>
        <translation>应用后，使用此密钥的程序将无法继续工作</translation>
    </message>
    <message>
        <source>Model names</source>
        <translation>模型名称</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Google connection</source>
        <translation>Google 连接</translation>
    </message>
    <message>
        <source>Tried in order; the next one is used when one fails</source>
        <translation>按顺序尝试；一个失败时使用下一个</translation>
    </message>
    <message>
        <source>Endpoints (one per line):</source>
        <translation>端点（每行一个）：</translation>
    </message>
    <message>
        <source>Raise it when Google says this version is no longer supported</source>
        <translation>当 Google 提示此版本不再受支持时，请调高它</translation>
    </message>
    <message>
        <source>Client version:</source>
        <translation>客户端版本：</translation>
    </message>
    <message>
        <source> min</source>
        <translation> 分钟</translation>
    </message>
    <message>
        <source>Refresh quotas every:</source>
        <translation>配额刷新间隔：</translation>
    </message>
    <message>
        <source>Request log</source>
        <translation>请求日志</translation>
    </message>
    <message>
        <source> days</source>
        <translation> 天</translation>
    </message>
    <message>
        <source>forever</source>
        <translation>永久</translation>
    </message>
    <message>
        <source>Keep requests for:</source>
        <translation>请求保留时间：</translation>
    </message>
    <message>
        <source> rows</source>
        <translation> 行</translation>
    </message>
    <message>
        <source>no limit</source>
        <translation>不限</translation>
    </message>
    <message>
        <source>Keep at most:</source>
        <translation>最多保留：</translation>
    </message>
    <message>
        <source>Save request and answer bodies</source>
        <translation>保存请求和回应内容</translation>
    </message>
    <message>
        <source>Shown in the Requests page. Keys and tokens are removed, but your prompts are stored.</source>
        <translation>显示在“请求”页面中。密钥和令牌会被移除，但你的提示词会被保存。</translation>
    </message>
    <message>
        <source>Desktop</source>
        <translation>桌面</translation>
    </message>
    <message>
        <source>Start Gravity Desk when I log in</source>
        <translation>登录系统时启动 Gravity Desk</translation>
    </message>
    <message>
        <source>Start in the tray, without opening this window</source>
        <translation>启动时只显示托盘图标，不打开此窗口</translation>
    </message>
    <message>
        <source>Appearance:</source>
        <translation>外观：</translation>
    </message>
    <message>
        <source>Follow the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <source>Send a client&apos;s model name to another model. &lt;b&gt;*&lt;/b&gt; matches any text and &lt;b&gt;?&lt;/b&gt; one character: &lt;code&gt;gpt-4*&lt;/code&gt; covers gpt-4o and gpt-4-turbo. Exact names win over wildcards, and the most specific wildcard wins. Names not listed here use the built-in choices.</source>
        <translation>把客户端请求的模型名称转到另一个模型。&lt;b&gt;*&lt;/b&gt; 匹配任意文本，&lt;b&gt;?&lt;/b&gt; 匹配一个字符：&lt;code&gt;gpt-4*&lt;/code&gt; 涵盖 gpt-4o 和 gpt-4-turbo。精确名称优先于通配符，通配符中最具体的优先。此处未列出的名称使用内置选择。</translation>
    </message>
    <message>
        <source>Enter the address to listen on; 127.0.0.1 means this computer only.</source>
        <translation>请输入要监听的地址；127.0.0.1 表示仅限本机。</translation>
    </message>
    <message>
        <source>&apos;{host}&apos; is not an address: use 127.0.0.1 (this computer) or 0.0.0.0 (every network).</source>
        <translation>“{host}”不是有效地址：请使用 127.0.0.1（本机）或 0.0.0.0（所有网络）。</translation>
    </message>
    <message>
        <source>The port must be a whole number between 1 and 65535 (Gravity Desk&apos;s usual port is 8045).</source>
        <translation>端口必须是 1 到 65535 之间的整数（Gravity Desk 的常用端口是 8045）。</translation>
    </message>
    <message>
        <source>Row {row}: fill in both the client&apos;s model name and the model to use (or remove the row).</source>
        <translation>第 {row} 行：请同时填写客户端的模型名称和要使用的模型（或删除此行）。</translation>
    </message>
    <message>
        <source>Row {row}: &apos;{pattern}&apos; is already mapped in row {other}; remove one of them.</source>
        <translation>第 {row} 行：“{pattern}”已在第 {other} 行中映射；请删除其中一行。</translation>
    </message>
    <message>
        <source>Enter at least one endpoint, one per line (the defaults come back with Revert).</source>
        <translation>请至少输入一个端点，每行一个（点击“还原”可恢复默认值）。</translation>
    </message>
    <message>
        <source>Line {number} is not a web address; each line needs the form https://host.</source>
        <translation>第 {number} 行不是网址；每行都应采用 https://host 的形式。</translation>
    </message>
    <message>
        <source>Use a version number such as 1.15.8 (the Antigravity version Google expects).</source>
        <translation>请使用 1.15.8 这样的版本号（Google 所期望的 Antigravity 版本）。</translation>
    </message>
    <message>
        <source>Choose one of: {choices}.</source>
        <translation>请从以下选项中选择：{choices}。</translation>
    </message>
    <message>
        <source>Client asks for</source>
        <translation>客户端请求的模型</translation>
    </message>
    <message>
        <source>Gravity Desk uses</source>
        <translation>Gravity Desk 使用的模型</translation>
    </message>
    <message>
        <source>Add key…</source>
        <translation>添加密钥…</translation>
    </message>
    <message>
        <source>Create a named key; its whole value is shown once</source>
        <translation>创建一个命名密钥；完整的值只显示一次</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <source>off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Quota protection: every account keeps this share of each model group (its 5-hour and weekly windows and each model&apos;s quota) for you; the gateway uses another account, or answers 429, once only the reserve is left. An account&apos;s own value (Accounts, right-click) wins.</source>
        <translation>配额保护：每个账号为你保留每个模型组的这一比例（包括其 5 小时和每周窗口以及每个模型的配额）；只剩保留部分时，网关改用其他账号，或返回 429。账号自己的设置（账号页面，右键）优先。</translation>
    </message>
    <message>
        <source>Keep in reserve per account:</source>
        <translation>每个账号保留：</translation>
    </message>
    <message>
        <source>Language:</source>
        <translation>语言：</translation>
    </message>
    <message>
        <source>Check for a newer Gravity Desk once a day</source>
        <translation>每天检查一次 Gravity Desk 新版本</translation>
    </message>
    <message>
        <source>Off unless you turn it on; nothing about you is sent</source>
        <translation>默认关闭，除非你开启；不会发送任何关于你的信息</translation>
    </message>
    <message>
        <source>Releases list (updates.releases_url):</source>
        <translation>版本发布列表（updates.releases_url）：</translation>
    </message>
    <message>
        <source>new: accepted once you apply</source>
        <translation>新密钥：应用后开始接受</translation>
    </message>
    <message>
        <source>created {created} · last used {used}</source>
        <translation>创建于 {created} · 上次使用 {used}</translation>
    </message>
    <message>
        <source>never</source>
        <translation>从未</translation>
    </message>
    <message>
        <source>You have changes that are not applied yet.</source>
        <translation>你有尚未应用的更改。</translation>
    </message>
    <message>
        <source>Serving at {url}</source>
        <translation>正在 {url} 上提供服务</translation>
    </message>
    <message>
        <source>Paused: the API is not listening until you resume it.</source>
        <translation>已暂停：恢复之前 API 不会监听。</translation>
    </message>
    <message>
        <source>Not listening (see below).</source>
        <translation>未在监听（见下方）。</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <source>{error} Then press Apply.</source>
        <translation>{error} 然后点击“应用”。</translation>
    </message>
    <message>
        <source>Rename API key</source>
        <translation>重命名 API 密钥</translation>
    </message>
    <message>
        <source>New name for {key}:</source>
        <translation>{key} 的新名称：</translation>
    </message>
    <message>
        <source>Key copied to the clipboard.</source>
        <translation>密钥已复制到剪贴板。</translation>
    </message>
    <message>
        <source>Revoke the key {key}? Programs using it get “wrong API key” once you apply.</source>
        <translation>要吊销密钥 {key} 吗？应用后，使用它的程序会收到“API 密钥错误”。</translation>
    </message>
    <message>
        <source>It is the last key: without keys, authentication is off.</source>
        <translation>这是最后一个密钥：没有密钥时，身份验证将关闭。</translation>
    </message>
    <message>
        <source>Revoke API key</source>
        <translation>吊销 API 密钥</translation>
    </message>
    <message>
        <source>Revoke</source>
        <translation>吊销</translation>
    </message>
    <message>
        <source>Nothing was applied: fix the fields marked in red.</source>
        <translation>未应用任何更改：请修正标红的字段。</translation>
    </message>
    <message>
        <source>Applying…</source>
        <translation>正在应用…</translation>
    </message>
    <message>
        <source>Applied, but {path} could not be saved ({error}); check that the folder is writable and press Apply again.</source>
        <translation>已应用，但无法保存 {path}（{error}）；请确认该文件夹可写，然后再次点击“应用”。</translation>
    </message>
    <message>
        <source>{error}. Check the folder&apos;s permissions and try again.</source>
        <translation>{error}。请检查该文件夹的权限后重试。</translation>
    </message>
    <message>
        <source>Applied and saved.</source>
        <translation>已应用并保存。</translation>
    </message>
    <message>
        <source>Some changes could not be applied: see the messages above.</source>
        <translation>部分更改无法应用：请查看上方的提示。</translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <source>Sign in again with Google</source>
        <translation>使用 Google 重新登录</translation>
    </message>
    <message>
        <source>Sign in with Google</source>
        <translation>使用 Google 登录</translation>
    </message>
    <message>
        <source>Open the browser again</source>
        <translation>重新打开浏览器</translation>
    </message>
    <message>
        <source>Copy link</source>
        <translation>复制链接</translation>
    </message>
    <message>
        <source>Copy Google&apos;s sign-in address, to open it in a browser yourself</source>
        <translation>复制 Google 的登录地址，以便自行在浏览器中打开</translation>
    </message>
    <message>
        <source>Browser on another machine? Paste the address here</source>
        <translation>浏览器在另一台机器上？在这里粘贴地址</translation>
    </message>
    <message>
        <source>Open the link (Copy link) in the browser on the other machine and sign in. It ends on a page that does not load; copy the whole address from its address bar and paste it here.</source>
        <translation>在另一台机器的浏览器中打开该链接（复制链接）并登录。最后会停在一个无法加载的页面；请从它的地址栏复制完整地址并粘贴到这里。</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Try again</source>
        <translation>重试</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Starting the sign-in…</source>
        <translation>正在开始登录…</translation>
    </message>
    <message>
        <source>Continue in your browser</source>
        <translation>请在浏览器中继续</translation>
    </message>
    <message>
        <source>Your browser shows Google&apos;s sign-in page. Choose your account and allow access; this window continues by itself when you are done.</source>
        <translation>浏览器显示了 Google 的登录页面。请选择你的账号并允许访问；完成后此窗口会自动继续。</translation>
    </message>
    <message>
        <source>Adding the account…</source>
        <translation>正在添加账号…</translation>
    </message>
    <message>
        <source>Google accepted the sign-in. Reading the account&apos;s details…</source>
        <translation>Google 已接受登录。正在读取账号信息…</translation>
    </message>
    <message>
        <source>Google did not accept the sign-in: {reason}
Try again in a moment.</source>
        <translation>Google 未接受此次登录：{reason}
请稍后重试。</translation>
    </message>
    <message>
        <source>The sign-in did not finish</source>
        <translation>登录未完成</translation>
    </message>
    <message>
        <source>Gravity Desk could not open a browser. Press “Copy link”, open the link in a browser and sign in there; this window continues by itself.</source>
        <translation>Gravity Desk 无法打开浏览器。请点击“复制链接”，在浏览器中打开该链接并登录；此窗口会自动继续。</translation>
    </message>
    <message>
        <source>Link copied</source>
        <translation>链接已复制</translation>
    </message>
</context>
<context>
    <name>TimeChart</name>
    <message>
        <source>No requests in this period</source>
        <translation>此时间段内没有请求</translation>
    </message>
    <message>
        <source>{start} to {end}</source>
        <translation>{start} 至 {end}</translation>
    </message>
</context>
<context>
    <name>Tray</name>
    <message>
        <source>Open Gravity Desk</source>
        <translation>打开 Gravity Desk</translation>
    </message>
    <message>
        <source>Copy API key</source>
        <translation>复制 API 密钥</translation>
    </message>
    <message>
        <source>Pause server</source>
        <translation>暂停服务器</translation>
    </message>
    <message>
        <source>Accounts</source>
        <translation>账号</translation>
    </message>
    <message>
        <source>Refresh quotas</source>
        <translation>刷新配额</translation>
    </message>
    <message>
        <source>Quit Gravity Desk</source>
        <translation>退出 Gravity Desk</translation>
    </message>
    <message>
        <source>Copy address  {url}</source>
        <translation>复制地址  {url}</translation>
    </message>
    <message>
        <source>Server {state}</source>
        <translation>服务器{state}</translation>
    </message>
    <message>
        <source>No API key needed (auth is off)</source>
        <translation>无需 API 密钥（身份验证已关闭）</translation>
    </message>
    <message>
        <source>Resume server</source>
        <translation>恢复服务器</translation>
    </message>
    <message>
        <source>Try starting the server again</source>
        <translation>重新尝试启动服务器</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <source>No accounts yet — add one…</source>
        <translation>还没有账号 — 添加一个…</translation>
    </message>
    <message>
        <source>Gravity Desk — {state}</source>
        <translation>Gravity Desk — {state}</translation>
    </message>
    <message>
        <source>serving on {url}, but no account can answer (open Accounts)</source>
        <translation>正在 {url} 上提供服务，但没有账号可以回应（打开账号页面）</translation>
    </message>
    <message>
        <source>serving on {url}</source>
        <translation>正在 {url} 上提供服务</translation>
    </message>
    <message>
        <source>not running: {reason}</source>
        <translation>未运行：{reason}</translation>
    </message>
    <message>
        <source>could not listen</source>
        <translation>无法监听端口</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>starting</source>
        <translation>正在启动</translation>
    </message>
    <message>
        <source>Gravity Desk is not serving</source>
        <translation>Gravity Desk 未在提供服务</translation>
    </message>
    <message>
        <source>The server could not start.</source>
        <translation>服务器无法启动。</translation>
    </message>
    <message>
        <source>Sign-in needed</source>
        <translation>需要重新登录</translation>
    </message>
    <message>
        <source>{name} needs to sign in again: open Accounts and choose Sign in again.</source>
        <translation>{name} 需要重新登录：请打开账号页面并选择“重新登录”。</translation>
    </message>
    <message>
        <source>Google refused {name} ({reason}). Open Accounts for details; other accounts keep serving.</source>
        <translation>Google 拒绝了 {name}（{reason}）。详情请打开账号页面；其他账号会继续提供服务。</translation>
    </message>
    <message>
        <source>Google refused {name}. Open Accounts for details; other accounts keep serving.</source>
        <translation>Google 拒绝了 {name}。详情请打开账号页面；其他账号会继续提供服务。</translation>
    </message>
    <message>
        <source>Account blocked</source>
        <translation>账号被封禁</translation>
    </message>
    <message>
        <source>{name} has used up {model} until {time} (in {countdown}). Other accounts take over meanwhile.</source>
        <translation>{name} 的 {model} 配额已用完，{time}（{countdown}后）恢复。在此期间由其他账号接替。</translation>
    </message>
    <message>
        <source>{name} has used up {model}. Other accounts take over meanwhile.</source>
        <translation>{name} 的 {model} 配额已用完。在此期间由其他账号接替。</translation>
    </message>
    <message>
        <source>Out of quota</source>
        <translation>配额已用完</translation>
    </message>
</context>
<context>
    <name>tray</name>
    <message>
        <source>{minutes}m</source>
        <translation>{minutes}分钟</translation>
    </message>
    <message>
        <source>{hours}h</source>
        <translation>{hours}小时</translation>
    </message>
    <message>
        <source>{days}d</source>
        <translation>{days}天</translation>
    </message>
    <message>
        <source>{name} — disabled</source>
        <translation>{name} — 已停用</translation>
    </message>
    <message>
        <source>{name} — needs sign-in</source>
        <translation>{name} — 需要重新登录</translation>
    </message>
    <message>
        <source>{name} — blocked</source>
        <translation>{name} — 已被封禁</translation>
    </message>
    <message>
        <source>{name} — ready</source>
        <translation>{name} — 就绪</translation>
    </message>
    <message>
        <source>{name} — quota not read yet</source>
        <translation>{name} — 尚未读取配额</translation>
    </message>
    <message>
        <source>{name} — out of quota</source>
        <translation>{name} — 配额已用完</translation>
    </message>
    <message>
        <source>{name} — out of quota (resets {countdown})</source>
        <translation>{name} — 配额已用完（{countdown}后重置）</translation>
    </message>
    <message>
        <source>{name} — {percent}</source>
        <translation>{name} — {percent}</translation>
    </message>
    <message>
        <source>{name} — {percent} (resets {countdown})</source>
        <translation>{name} — {percent}（{countdown}后重置）</translation>
    </message>
</context>
</TS>
