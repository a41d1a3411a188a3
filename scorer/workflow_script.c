/*
 * workflow_script.c - the Lua that every script moving a follow-up step
 * shares (workflows.h, pb_wf_script_common): the scorer's claim and
 * settle scripts (workflow_claim.c) and the command line's queue cancel
 * and resolve (cli/queue_edit.c), so that a step is logged and its next
 * step queued the same way wherever it is settled.
 */
#include "workflows.h"

const char pb_wf_script_common[] =
    "local now=tonumber(ARGV[1])\n"
    "local WFCNT={}\n"              /* log entries by status: the answer's counts() */
    "local function counts() local l={} for k,v in pairs(WFCNT) do l[#l+1]=k l[#l+1]=v end "
    "return l end\n"
    "local function log(cid,wf,st,status,why,var)\n"
    "  local e={'XADD',WLOG,'MAXLEN','~',ARGV[2],'*','contact',cid,'workflow',wf,"
    "'step',st,'status',status,'reason',why,'at',ARGV[1]}\n"
    "  if var and var~='' then e[#e+1]='variant' e[#e+1]=var end\n"
    "  redis.call(unpack(e))\n"
    "  WFCNT[status]=(WFCNT[status] or 0)+1\n"
    "end\n"
    "local function split(m) return string.match(m,'^([^|]+)|([^|]+)|([^|]+)$') end\n"
    "local function queue_next(ck,cid,wf,st,nx,delay)\n"
    "  if nx=='' or redis.call('HSETNX',ck,'wfs:'..wf..'|'..nx,'queued')==0 then return end\n"
    "  redis.call('ZADD',DUE,string.format('%d',now+tonumber(delay)),cid..'|'..wf..'|'..nx)\n"
    "  log(cid,wf,nx,'queued','after '..st)\n"
    "end\n";
