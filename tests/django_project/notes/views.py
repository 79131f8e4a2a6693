from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Note


@csrf_exempt
@require_http_methods(["GET", "POST"])
def notes(request):
    """POST creates a note from the "text" field; both methods return the count."""
    if request.method == "POST":
        Note.objects.create(text=request.POST.get("text", ""))
    return HttpResponse(str(Note.objects.count()), content_type="text/plain; charset=utf-8")
