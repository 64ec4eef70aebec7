<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en">
<context>
    <name>AccountsModel</name>
    <message numerus="yes">
        <source>%n min ago</source>
        <translation>
            <numerusform>%n min ago</numerusform>
            <numerusform>%n min ago</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n models</source>
        <translation>
            <numerusform>%n model</numerusform>
            <numerusform>%n models</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>AccountsPage</name>
    <message numerus="yes">
        <source>%n could not be imported:</source>
        <translation>
            <numerusform>%n could not be imported:</numerusform>
            <numerusform>%n could not be imported:</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>App</name>
    <message numerus="yes">
        <source>%n unexpected errors happened inside Gravity Desk. The first:</source>
        <translation>
            <numerusform>%n unexpected error happened inside Gravity Desk:</numerusform>
            <numerusform>%n unexpected errors happened inside Gravity Desk. The first:</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>DashboardPage</name>
    <message numerus="yes">
        <source>{range}: %Ln request(s), {failed} failed, {tokens_in} tokens in, {tokens_out} out</source>
        <translation>
            <numerusform>{range}: %Ln request, {failed} failed, {tokens_in} tokens in, {tokens_out} out</numerusform>
            <numerusform>{range}: %Ln requests, {failed} failed, {tokens_in} tokens in, {tokens_out} out</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>RequestsPage</name>
    <message numerus="yes">
        <source>Exported %n request(s) to {path}.</source>
        <translation>
            <numerusform>Exported %n request to {path}.</numerusform>
            <numerusform>Exported %n requests to {path}.</numerusform>
        </translation>
    </message>
</context>
</TS>
